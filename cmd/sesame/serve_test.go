package main

import (
	"bytes"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type served struct {
	cmd            *exec.Cmd
	stdout, stderr *lockedBuffer
	done           chan error
}

// startServe starts `sesame serve` and waits until /readyz answers 200.
func startServe(t *testing.T, c *cli, addr string) *served {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--listen", addr, "--issuer", "http://"+addr)
	cmd.Dir, cmd.Env = c.dir, c.env
	s := &served{cmd: cmd, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = s.stdout, s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-s.done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		select {
		case err := <-s.done:
			t.Fatalf("serve exited early: %v\nstderr: %s", err, s.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never answered 200\nstderr: %s", s.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and expects a prompt exit with status 0.
func (s *served) stop(t *testing.T) {
	t.Helper()
	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM\nstderr: %s", err, s.stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not exit within 10s of SIGTERM")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("shutdown took %v", d)
	}
}

var demoPassword = regexp.MustCompile(`\|\s+password\s+(\S+)`)

func TestServeDemoReadyAndShutdown(t *testing.T) {
	c := newCLI(t, "sqlite:"+filepath.Join(t.TempDir(), "sesame.db"))
	addr := freeAddr(t)
	s := startServe(t, c, addr)
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", err, resp)
	}
	resp.Body.Close()
	s.stop(t)

	out := s.stdout.String()
	m := demoPassword.FindStringSubmatch(out)
	if m == nil || strings.Count(out, "password  ") != 1 {
		t.Fatalf("demo credentials should be printed once:\n%s", out)
	}
	for _, want := range []string{"demo-app", "http://" + addr + "/demo"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo box lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(s.stderr.String(), m[1]) {
		t.Fatal("demo password appears in the log")
	}
	if !strings.Contains(s.stderr.String(), "shutting down") {
		t.Errorf("no shutdown log line:\n%s", s.stderr)
	}

	// The printed credentials are real: the CLI sees the user and client.
	var u userJSON
	c.json(&u, "", "users", "get", "demo", "--json")
	var cl clientJSON
	c.json(&cl, "", "clients", "get", "demo-app", "--json")
	if !cl.Public || cl.RedirectURIs[0] != "http://"+addr+"/demo/callback" {
		t.Fatalf("demo client %+v", cl)
	}

	// Second start: nothing printed.
	s2 := startServe(t, c, addr)
	s2.stop(t)
	if strings.Contains(s2.stdout.String(), "password") {
		t.Fatalf("second start printed credentials again:\n%s", s2.stdout)
	}
}

func TestServeBadSettingStopsStartup(t *testing.T) {
	c := newCLI(t, "sqlite:"+filepath.Join(t.TempDir(), "sesame.db"), "SESAME_ACCESS_TOKEN_LIFETIME=abc")
	c.fails(1, `invalid SESAME_ACCESS_TOKEN_LIFETIME "abc"`, "", "serve")
	c.fails(1, "SESAME_ISSUER", "", "serve", "--access-token-lifetime", "5m", "--issuer", "http://example.com")
}

func TestServeNoMigrateOnEmptyDatabase(t *testing.T) {
	c := newCLI(t, "sqlite:"+filepath.Join(t.TempDir(), "sesame.db"))
	c.fails(2, "migrate up", "", "serve", "--no-migrate", "--listen", freeAddr(t))
}

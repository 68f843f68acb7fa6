package scale_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage/postgres/pgtest"
)

// child is one `sesame serve` process of a test.
type child struct {
	cmd    *exec.Cmd
	lines  chan string // stderr, line by line
	exited chan error
}

func startChild(t *testing.T, bin string, env []string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(bin, "serve"), lines: make(chan string, 1024), exited: make(chan error, 1)}
	c.cmd.Env, c.cmd.Stdout = env, io.Discard
	pr, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			select {
			case c.lines <- sc.Text():
			default: // nobody reads old lines; never block the child
			}
		}
		c.exited <- c.cmd.Wait()
	}()
	t.Cleanup(func() { _ = c.cmd.Process.Kill() })
	return c
}

// waitLine waits for a stderr line containing want.
func (c *child) waitLine(t *testing.T, want string, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case l := <-c.lines:
			if strings.Contains(l, want) {
				return
			}
		case <-deadline:
			t.Fatalf("no %q on the server's stderr after %s", want, d)
		}
	}
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	if took, ok := within(60*time.Second, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}); !ok {
		t.Fatalf("server not ready after %s", took)
	}
}

func cliJSON(t *testing.T, bin string, env []string, stdin string, args ...string) map[string]any {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sesame %s: %v", strings.Join(args, " "), err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("sesame %s: output %q: %v", strings.Join(args, " "), out, err)
	}
	return m
}

func tokenRequest(base, id, sec string, form url.Values) (int, map[string]any, error) {
	req, _ := http.NewRequest(http.MethodPost, base+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, sec)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m, nil
}

// TestKill9BetweenRefreshCommitAndResponse is issue 21's crash case: the
// server is killed (SIGKILL) after a refresh committed its rotation and
// before the client got the answer. With the default settings the client's
// retry with the token it still holds must succeed, and the pair it gets
// must work. Under strict rotation (SESAME_REFRESH_REUSE_GRACE=0, the old
// default) the retry was refused and the family revoked: the user logged
// out by a crash.
func TestKill9BetweenRefreshCommitAndResponse(t *testing.T) {
	bin := crashBinary(t)
	stores := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "sesame.db") },
		"postgres": func(t *testing.T) string { return pgtest.URL(t) },
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			ln := listen(t)
			hostport := ln.Addr().String()
			ln.Close()
			base := "http://" + hostport
			env := append(os.Environ(),
				"SESAME_DATABASE_URL="+stores[name](t),
				"SESAME_SECRET="+testSecret,
				"SESAME_LISTEN="+hostport,
				"SESAME_ISSUER="+base,
				"SESAME_DEMO=false",
				"SESAME_RATE_LIMIT_ENABLED=false",
				"SESAME_SHUTDOWN_DELAY=0",
				"SESAME_LOG_LEVEL=warn",
				"SESAME_ARGON2_MEMORY_KIB=7168", "SESAME_ARGON2_ITERATIONS=5",
			)
			cliJSON(t, bin, env, "correct horse battery staple\n", "users", "create", "alice", "--password-stdin", "--json")
			app := cliJSON(t, bin, env, "", "clients", "create", "--name", "app", "--grant-types", "password,refresh_token",
				"--scopes", "api:read offline_access", "--json")
			id, sec := app["client_id"].(string), app["client_secret"].(string)

			first := startChild(t, bin, append(env, "SESAME_CRASHTEST=pause-after-refresh-commit"))
			waitReady(t, base)
			st, tok, err := tokenRequest(base, id, sec, url.Values{"grant_type": {"password"}, "username": {"alice"},
				"password": {"correct horse battery staple"}, "scope": {"api:read offline_access"}})
			if err != nil || st != http.StatusOK {
				t.Fatalf("password grant: %d %v %v", st, tok, err)
			}
			rt := tok["refresh_token"].(string)

			lost := make(chan error, 1)
			go func() {
				st, body, err := tokenRequest(base, id, sec, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
				if err == nil {
					err = fmt.Errorf("the refresh was answered %d %v", st, body)
				}
				lost <- err
			}()
			first.waitLine(t, "sesame-crashtest: refresh committed", 30*time.Second)
			if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			if err := <-lost; !strings.Contains(err.Error(), "EOF") && !strings.Contains(err.Error(), "reset") {
				t.Fatalf("the client should have lost its answer: %v", err)
			}
			<-first.exited

			startChild(t, bin, env)
			waitReady(t, base)
			st, retry, err := tokenRequest(base, id, sec, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
			if err != nil || st != http.StatusOK {
				t.Fatalf("retry after the crash: %d %v %v (the user was logged out by a crash)", st, retry, err)
			}
			st, next, err := tokenRequest(base, id, sec, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {retry["refresh_token"].(string)}})
			if err != nil || st != http.StatusOK {
				t.Fatalf("the pair the retry got does not refresh: %d %v %v", st, next, err)
			}
		})
	}
}

// TestSIGTERMAnswersKeepAliveRequests is issue 21's drain case: clients
// send requests on open keep-alive connections right before and after
// SIGTERM, and every request sent is answered. Go's Shutdown closes idle
// keep-alive connections at once, so without the drain phase
// (SESAME_SHUTDOWN_DELAY) a request sent in the last instant got a reset.
func TestSIGTERMAnswersKeepAliveRequests(t *testing.T) {
	bin := sesameBinary(t)
	ln := listen(t)
	hostport := ln.Addr().String()
	ln.Close()
	base := "http://" + hostport
	env := append(os.Environ(),
		"SESAME_DATABASE_URL=sqlite:"+filepath.Join(t.TempDir(), "sesame.db"),
		"SESAME_SECRET="+testSecret,
		"SESAME_LISTEN="+hostport,
		"SESAME_ISSUER="+base,
		"SESAME_DEMO=false",
		"SESAME_RATE_LIMIT_ENABLED=false",
		"SESAME_SHUTDOWN_DELAY=2s",
		"SESAME_LOG_LEVEL=warn",
	)
	srv := startChild(t, bin, env)
	waitReady(t, base)

	const conns = 8
	var sent, answered, closedByServer atomic.Int64
	var unanswered sync.Map // error text → count
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			var conn net.Conn
			var rd *bufio.Reader
			for {
				select {
				case <-stop:
					if conn != nil {
						conn.Close()
					}
					return
				default:
				}
				if conn == nil {
					c, err := net.Dial("tcp", hostport)
					if err != nil {
						return // listener closed: a refused connect is no lost request
					}
					conn, rd = c, bufio.NewReader(c)
				}
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: "+hostport+"\r\n\r\n"); err != nil {
					unanswered.Store("write: "+err.Error(), true)
					sent.Add(1)
					conn = nil
					continue
				}
				sent.Add(1)
				resp, err := http.ReadResponse(rd, nil)
				if err != nil {
					unanswered.Store("read: "+err.Error(), true)
					conn.Close()
					conn = nil
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				answered.Add(1)
				if resp.Close { // Connection: close while draining
					closedByServer.Add(1)
					conn.Close()
					conn = nil
				}
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// During the delay /readyz tells the load balancer to go away.
	if took, ok := within(5*time.Second, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	}); !ok {
		t.Fatalf("/readyz did not answer 503 after SIGTERM (%s)", took)
	}
	time.Sleep(700 * time.Millisecond) // requests right after SIGTERM
	close(stop)
	wg.Wait()
	select {
	case err := <-srv.exited:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not exit after the drain")
	}
	n := 0
	unanswered.Range(func(k, _ any) bool {
		n++
		t.Errorf("a request sent on a keep-alive connection got no answer: %v", k)
		return true
	})
	t.Logf("%d requests sent, %d answered, %d connections closed by the server while draining", sent.Load(), answered.Load(), closedByServer.Load())
	if sent.Load() != answered.Load() || n > 0 {
		t.Fatalf("%d of %d requests unanswered", sent.Load()-answered.Load(), sent.Load())
	}
	if closedByServer.Load() == 0 {
		t.Fatal("no response carried Connection: close while draining")
	}
}

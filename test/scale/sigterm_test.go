package scale_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// build is one binary of cmd/sesame, built at most once per test process.
type build struct {
	once sync.Once
	path string
	err  error
}

var plainBuild, crashBuild build

// sesameBinary builds cmd/sesame once per test process.
func sesameBinary(t *testing.T) string { return plainBuild.get(t) }

// crashBinary builds cmd/sesame with the sesame_crashtest tag: a refresh
// that committed then pauses before answering (oauth/crashhook.go), when
// SESAME_CRASHTEST asks for it.
func crashBinary(t *testing.T) string { return crashBuild.get(t, "-tags", "sesame_crashtest") }

func (b *build) get(t *testing.T, flags ...string) string {
	t.Helper()
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "sesame-bin-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, "sesame")
		args := append(append(append([]string{"build"}, flags...), buildFlags...), "-o", b.path, "github.com/sesameauth/sesame/cmd/sesame")
		if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// TestSIGTERMDrainsInFlightRequests runs `sesame serve`, holds requests in
// flight (their bodies half sent) while load runs, sends SIGTERM and then
// lets the held requests finish: each must get its token, and the process
// must exit 0.
func TestSIGTERMDrainsInFlightRequests(t *testing.T) {
	bin := sesameBinary(t)
	dir := t.TempDir()
	addr := listen(t)
	hostport := addr.Addr().String()
	addr.Close()
	env := append(os.Environ(),
		"SESAME_DATABASE_URL=sqlite:"+filepath.Join(dir, "sesame.db"),
		"SESAME_SECRET="+testSecret,
		"SESAME_LISTEN="+hostport,
		"SESAME_ISSUER=http://"+hostport,
		"SESAME_DEMO=false",
		"SESAME_RATE_LIMIT_ENABLED=false",
		"SESAME_SHUTDOWN_TIMEOUT=20s",
		"SESAME_SHUTDOWN_DELAY=1s",
		"SESAME_LOG_LEVEL=warn",
	)
	create := exec.Command(bin, "clients", "create", "--name", "load", "--grant-types", "client_credentials", "--scopes", "read", "--json")
	create.Env = env
	out, err := create.Output()
	if err != nil {
		t.Fatalf("clients create: %v", err)
	}
	var created struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal(out, &created); err != nil || created.ClientID == "" {
		t.Fatalf("clients create output %q: %v", out, err)
	}
	c := client{id: created.ClientID, secret: created.ClientSecret}

	var stderr bytes.Buffer
	serve := exec.Command(bin, "serve")
	serve.Env, serve.Stderr, serve.Stdout = env, &stderr, io.Discard
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	t.Cleanup(func() {
		_ = serve.Process.Kill()
	})
	base := "http://" + hostport
	if took, ok := within(30*time.Second, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}); !ok {
		t.Fatalf("server not ready after %s\n%s", took, stderr.String())
	}

	// Held requests: headers and half the body sent, the rest only after
	// SIGTERM.
	const held = 6
	release := make(chan struct{})
	type heldResult struct {
		status int
		token  string
		err    error
	}
	results := make(chan heldResult, held)
	var sent sync.WaitGroup
	for range held {
		sent.Add(1)
		go func() {
			body := "grant_type=client_credentials&scope=read"
			pr, pw := io.Pipe()
			go func() {
				_, _ = io.WriteString(pw, body[:20])
				sent.Done()
				<-release
				_, _ = io.WriteString(pw, body[20:])
				_ = pw.Close()
			}()
			req, _ := http.NewRequest(http.MethodPost, base+"/oauth2/token", pr)
			req.ContentLength = int64(len(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(c.id, c.secret)
			hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			resp, err := hc.Do(req)
			if err != nil {
				results <- heldResult{err: err}
				return
			}
			defer resp.Body.Close()
			var m map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&m)
			tok, _ := m["access_token"].(string)
			results <- heldResult{status: resp.StatusCode, token: tok}
		}()
	}
	sent.Wait()
	// Wait until the server is really inside all held requests: its
	// in-flight gauge counts them (plus the /metrics request itself).
	if took, ok := within(15*time.Second, func() bool {
		st, out := scrapeMetrics(t, base)
		var n float64
		for _, line := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(line, "sesame_http_requests_in_flight "); ok {
				_, _ = fmt.Sscan(v, &n)
			}
		}
		return st == http.StatusOK && n >= held+1
	}); !ok {
		t.Fatalf("the server did not have the %d held requests in flight after %s", held, took)
	}

	// Background load on its own connections.
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	load := drive(ctx, &http.Client{Timeout: 20 * time.Second}, base, c, 4, rec.add)
	time.Sleep(300 * time.Millisecond)

	termAt := time.Now()
	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// While draining, the server must neither exit nor cut the held
	// requests.
	select {
	case err := <-exited:
		t.Fatalf("server exited with requests in flight: %v\n%s", err, stderr.String())
	case <-time.After(700 * time.Millisecond):
	}
	close(release)
	for range held {
		r := <-results
		if r.err != nil || r.status != http.StatusOK || r.token == "" {
			t.Errorf("held request: status %d, token %t, err %v", r.status, r.token != "", r.err)
		}
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("serve exited with %v after SIGTERM\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not exit after draining\n%s", stderr.String())
	}
	cancel()
	load.Wait()

	var ok, refused int
	for _, r := range rec.snapshot() {
		switch {
		case r.err == nil && r.status == http.StatusOK:
			ok++
		case r.err == nil:
			t.Errorf("load request answered %d %q", r.status, r.code)
		case r.at.Add(r.dur).Before(termAt):
			t.Errorf("load request failed before SIGTERM: %v", r.err)
		default:
			// After SIGTERM new connections are refused and idle
			// keep-alive connections closed, which resets a request
			// written onto one at that instant (net/http's documented
			// race for non-idempotent requests). Requests the server
			// had started are the held ones above, which must finish.
			refused++
			msg := r.err.Error()
			if !strings.Contains(msg, "refused") && !strings.Contains(msg, "reset") && !strings.Contains(msg, "EOF") &&
				!strings.Contains(msg, "server closed idle connection") {
				t.Errorf("load request after SIGTERM: unexpected error %v", r.err)
			}
		}
	}
	if ok == 0 {
		t.Error("the load got no token at all")
	}
	t.Logf("load: %d tokens before the listener closed, %d requests refused after SIGTERM", ok, refused)
}

package scale_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/config"
	"github.com/sesameauth/sesame/internal/server"
)

// testSecret is the system secret every instance of a test shares, as
// instances behind one load balancer must.
const testSecret = "scale-test-secret-0123456789abcdefghijklmnopqrstuv"

// baseConfig is a valid configuration for a test instance: no demo data,
// no rate limits (all load comes from one IP), cheapest allowed argon2.
func baseConfig(databaseURL, issuer string) config.Config {
	cfg := config.Default()
	cfg.DatabaseURL = databaseURL
	cfg.Issuer = issuer
	cfg.Secret = testSecret
	cfg.Demo = false
	cfg.RateLimitEnabled = false
	cfg.Argon2MemoryKiB, cfg.Argon2Iterations = 7168, 5
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.ShutdownDelay = 0 // tests stop servers at once
	cfg.LogLevel = "warn"
	return cfg
}

// instance is one running server.
type instance struct {
	srv  *server.Server
	url  string
	stop func() error
}

// quietLogger drops info logs; warnings and errors go to the test log.
func quietLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// listen opens a loopback listener on a free port.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// start builds a server for cfg and serves it on ln until the test ends.
func start(t *testing.T, cfg config.Config, ln net.Listener) *instance {
	t.Helper()
	return startWith(t, cfg, ln, quietLogger(t))
}

// startWith is start with a given logger.
func startWith(t *testing.T, cfg config.Config, ln net.Listener, logger *slog.Logger) *instance {
	t.Helper()
	cfg.Listen = ln.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := server.New(ctx, cfg, logger, server.WithOutput(io.Discard))
	if err != nil {
		_ = ln.Close()
		t.Fatalf("server.New: %v", err)
	}
	runCtx, stopRun := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(runCtx, ln) }()
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			stopRun()
			stopErr = <-done
		})
		return stopErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("instance %s: %v", ln.Addr(), err)
		}
	})
	return &instance{srv: srv, url: "http://" + ln.Addr().String(), stop: stop}
}

// client is a registered confidential client_credentials client.
type client struct{ id, secret string }

func newClient(t *testing.T, a *app.Service, format string, scopes ...string) client {
	t.Helper()
	c, sec, err := a.CreateClient(context.Background(), "test", app.ClientSpec{
		Name: "scale " + format, GrantTypes: []string{"client_credentials"},
		Scopes: scopes, AccessTokenFormat: format,
	})
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	return client{id: c.ID, secret: sec}
}

// httpClient has a timeout well above any healthy response and below the
// test's patience.
var httpClient = &http.Client{Timeout: 15 * time.Second}

// postForm POSTs form to base+path with HTTP Basic client authentication
// and decodes the JSON answer.
func postForm(hc *http.Client, base, path string, c client, form url.Values) (int, map[string]any, error) {
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.id), url.QueryEscape(c.secret))
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	var m map[string]any
	if len(body) > 0 {
		if err := json.Unmarshal(body, &m); err != nil {
			return resp.StatusCode, nil, fmt.Errorf("status %d, body %q is not JSON: %w", resp.StatusCode, body, err)
		}
	}
	return resp.StatusCode, m, nil
}

// issue gets a client_credentials token.
func issue(t *testing.T, base string, c client, scope string) string {
	t.Helper()
	st, body, err := postForm(httpClient, base, "/oauth2/token", c, url.Values{"grant_type": {"client_credentials"}, "scope": {scope}})
	if err != nil || st != http.StatusOK {
		t.Fatalf("token from %s: %d %v %v", base, st, body, err)
	}
	tok, _ := body["access_token"].(string)
	if tok == "" {
		t.Fatalf("token from %s: no access_token in %v", base, body)
	}
	return tok
}

// active introspects tok at base as c.
func active(t *testing.T, base string, c client, tok string) bool {
	t.Helper()
	st, body, err := postForm(httpClient, base, "/oauth2/introspect", c, url.Values{"token": {tok}})
	if err != nil || st != http.StatusOK {
		t.Fatalf("introspect at %s: %d %v %v", base, st, body, err)
	}
	a, _ := body["active"].(bool)
	return a
}

// within polls cond every 20ms until it holds or d has passed, and
// reports how long it took.
func within(d time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > d {
			return time.Since(start), false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// panicCounter is a slog handler that counts records mentioning a panic
// and drops everything else (an outage logs thousands of expected errors).
type panicCounter struct {
	mu     *sync.Mutex
	panics *int
}

func newPanicCounter() (*slog.Logger, func() int) {
	h := panicCounter{mu: &sync.Mutex{}, panics: new(int)}
	return slog.New(h), func() int { h.mu.Lock(); defer h.mu.Unlock(); return *h.panics }
}

func (h panicCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h panicCounter) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(strings.ToLower(r.Message), "panic") {
		h.mu.Lock()
		*h.panics++
		h.mu.Unlock()
	}
	return nil
}
func (h panicCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h panicCounter) WithGroup(string) slog.Handler      { return h }

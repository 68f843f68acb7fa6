package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/config"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testConfig(t *testing.T, dir string) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.DatabaseURL = "sqlite:" + filepath.Join(dir, "sesame.db")
	cfg.Listen = "127.0.0.1:0"
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.ShutdownDelay = 0 // tests stop servers at once
	return cfg
}

func newTestServer(t *testing.T, cfg config.Config) (*Server, *syncBuffer, *bytes.Buffer) {
	t.Helper()
	logs := &syncBuffer{}
	out := &bytes.Buffer{}
	s, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(logs, nil)), WithOutput(out))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, logs, out
}

func get(t *testing.T, h http.Handler, target string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("%s: body %q is not JSON: %v", target, rec.Body.String(), err)
	}
	return rec.Code, body
}

var pwLine = regexp.MustCompile(`\|\s+password\s+(\S+)`)

func TestDemoBootstrapOnce(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	s, logs, out := newTestServer(t, cfg)
	m := pwLine.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no password in demo output:\n%s", out)
	}
	for _, want := range []string{"username   demo", "client_id  demo-app", "http://localhost:8080/demo"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo box lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(logs.String(), m[1]) {
		t.Fatal("the demo password was logged")
	}
	ctx := context.Background()
	if _, err := app.NewPasswords(s.Store, nil, s.App.PasswordParams(), nil).Verify(ctx, app.PasswordAttempt{Username: "demo", Password: m[1]}); err != nil {
		t.Fatalf("printed password does not log in: %v", err)
	}
	c, err := s.App.GetClient(ctx, DemoClientID)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Public || c.RedirectURIs[0] != "http://localhost:8080/demo/callback" || strings.Join(c.Scopes, " ") != "openid profile email offline_access" {
		t.Fatalf("demo client %+v", c)
	}
	s.Close()

	_, _, out2 := newTestServer(t, cfg)
	if out2.Len() != 0 {
		t.Fatalf("second start printed:\n%s", out2)
	}
}

func TestDemoOffOrPostgres(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Demo = false
	s, _, out := newTestServer(t, cfg)
	if out.Len() != 0 {
		t.Fatalf("demo disabled but printed:\n%s", out)
	}
	if n, _ := s.Store.CountUsers(context.Background()); n != 0 {
		t.Fatalf("%d users created with SESAME_DEMO=false", n)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	s, logs, _ := newTestServer(t, testConfig(t, t.TempDir()))
	h := s.Handler()
	if code, body := get(t, h, "/healthz"); code != 200 || body["status"] != "ok" {
		t.Fatalf("healthz %d %v", code, body)
	}
	if code, body := get(t, h, "/readyz"); code != 200 || body["status"] != "ok" {
		t.Fatalf("readyz %d %v", code, body)
	}
	if code, body := get(t, h, "/nope?code=secret-code"); code != 404 || body["error"] != "not_found" {
		t.Fatalf("unknown route %d %v", code, body)
	}
	if strings.Contains(logs.String(), "secret-code") {
		t.Fatal("query string logged")
	}
	if !strings.Contains(logs.String(), "path=/nope") {
		t.Fatalf("request not logged:\n%s", logs)
	}
	// The database goes away: readiness fails, liveness does not.
	if err := s.Store.Close(); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, h, "/readyz"); code != 503 || body["status"] != "unavailable" {
		t.Fatalf("readyz after close %d %v", code, body)
	}
	if code, _ := get(t, h, "/healthz"); code != 200 {
		t.Fatalf("healthz after close %d", code)
	}
}

func TestPanicAnswersJSON500WithoutStack(t *testing.T) {
	s, logs, _ := newTestServer(t, testConfig(t, t.TempDir()))
	s.Engine.GET("/boom", func(*gin.Context) { panic("kaboom in handler") })
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/boom", nil))
	if rec.Code != 500 {
		t.Fatalf("status %d", rec.Code)
	}
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["error"] != "server_error" {
		t.Fatalf("body %q", rec.Body.String())
	}
	if strings.Contains(rec.Body.String(), "kaboom") || strings.Contains(rec.Body.String(), "goroutine") {
		t.Fatal("panic details leaked to the client")
	}
	if !strings.Contains(logs.String(), "kaboom in handler") {
		t.Fatal("panic not logged")
	}
}

func TestServeDrainsInFlightRequests(t *testing.T) {
	s, _, _ := newTestServer(t, testConfig(t, t.TempDir()))
	started := make(chan struct{})
	s.Engine.GET("/slow", func(c *gin.Context) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		c.String(200, "done")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	type result struct {
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		res <- result{string(b), err}
	}()
	<-started
	cancel()
	if r := <-res; r.err != nil || r.body != "done" {
		t.Fatalf("in-flight request: %q %v", r.body, r.err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after shutdown")
	}
	if err := s.Store.Ping(context.Background()); err == nil {
		t.Fatal("store should be closed after Serve returns")
	}
}

func TestNoMigrateRefusesPendingSchema(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.AutoMigrate = false
	_, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), WithOutput(io.Discard))
	if err == nil || !strings.Contains(err.Error(), "migrate up") {
		t.Fatalf("want a pending-migrations error, got %v", err)
	}
}

func TestBadTLSMaterial(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.TLSCert, cfg.TLSKey = filepath.Join(t.TempDir(), "c.pem"), filepath.Join(t.TempDir(), "k.pem")
	_, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "SESAME_TLS_CERT") {
		t.Fatalf("want TLS error, got %v", err)
	}
}

// TestNotFoundPageAndFavicon: a browser gets an HTML 404 page, an API client
// JSON; an unknown method still gets 501; the favicon is served.
func TestNotFoundPageAndFavicon(t *testing.T) {
	s, _, _ := newTestServer(t, testConfig(t, t.TempDir()))
	h := s.Handler()
	req := httptest.NewRequest(http.MethodGet, "/no/such/page", nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 404 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") ||
		!strings.Contains(rec.Body.String(), "Page not found") {
		t.Fatalf("browser 404: %d %s\n%s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	req = httptest.NewRequest(http.MethodGet, "/no/such/page", nil)
	req.Header.Set("Accept", "application/json")
	if code, body := getWith(h, req); code != 404 || body["error"] != "not_found" {
		t.Fatalf("API 404: %d %v", code, body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("BREW", "/no/such/page", nil))
	if rec.Code != http.StatusNotImplemented {
		t.Fatalf("unknown method: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/favicon.ico", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/svg+xml" {
		t.Fatalf("favicon: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
}

func getWith(h http.Handler, req *http.Request) (int, map[string]any) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var body map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	return rec.Code, body
}

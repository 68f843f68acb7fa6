package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/password"
	"github.com/sesameauth/sesame/internal/session"
	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/sqlite"
	"github.com/sesameauth/sesame/web"
)

var cheap = password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

func newServer(t *testing.T, guard ...throttle.Config) (*httptest.Server, storage.Store) {
	t.Helper()
	return newServerWith(t, nil, guard...)
}

// newServerWith is newServer with a last change to the dependencies
// (edit also gets the whole store, which Deps.Store no longer is).
func newServerWith(t *testing.T, edit func(d *web.Deps, st storage.Store), guard ...throttle.Config) (*httptest.Server, storage.Store) {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	enc, _ := password.Hash("open sesame!", cheap)
	now := time.Now()
	if err := store.CreateUser(ctx, storage.User{ID: "u1", Username: "Alice", PasswordHash: enc, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.TestMode)
	g := gin.New()
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	d := web.Deps{App: app.New(store, nil, cheap, nil), Store: store, Sessions: session.New(store, srv.URL, time.Hour, nil), Issuer: srv.URL,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PasswordParams: cheap}
	if len(guard) > 0 {
		d.Throttle = throttle.New(store, store, guard[0], nil)
	}
	if edit != nil {
		edit(&d, store)
	}
	h, err := web.New(d)
	if err != nil {
		t.Fatal(err)
	}
	h.Mount(g)
	return srv, store
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func TestDirectLoginLeadsToAccount(t *testing.T) {
	srv, _ := newServer(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRE.FindStringSubmatch(string(body))
	if m == nil {
		t.Fatalf("no csrf token:\n%s", body)
	}
	// Usernames match case-insensitively.
	resp, err = c.PostForm(srv.URL+"/login", url.Values{"username": {"alice"}, "password": {"open sesame!"}, "csrf_token": {m[1]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
		t.Fatalf("login: %d → %q, want 303 → /account", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = c.Get(srv.URL + "/account")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "No app has access to your account.") {
		t.Errorf("account: %d\n%s", resp.StatusCode, body)
	}
}

func TestUnknownFlowShowsExpiredPage(t *testing.T) {
	srv, _ := newServer(t)
	for _, p := range []string{"/login?flow=nope", "/consent?flow=nope"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", p, resp.StatusCode)
		}
	}
}

func TestRepeatedFailuresLockTheLoginForm(t *testing.T) {
	cfg := throttle.DefaultConfig()
	cfg.MaxFailures = 2
	srv, store := newServer(t, cfg)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	try := func(user, pw string) (*http.Response, string) {
		t.Helper()
		resp, err := c.Get(srv.URL + "/login")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := csrfRE.FindStringSubmatch(string(body))
		resp, err = c.PostForm(srv.URL+"/login", url.Values{"username": {user}, "password": {pw}, "csrf_token": {m[1]}})
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(body)
	}
	for _, user := range []string{"alice", "ghost"} { // existing and unknown accounts lock alike
		for i := 0; i < 2; i++ {
			if resp, _ := try(user, "wrong password"); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("%s failure %d: %d", user, i, resp.StatusCode)
			}
		}
		resp, body := try(user, "open sesame!")
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, throttle.Message) {
			t.Errorf("%s after 2 failures: %d, want 429 with Retry-After and the lock message", user, resp.StatusCode)
		}
	}
	events, _, err := store.ListAudit(context.Background(), storage.AuditFilter{Type: "user.login"})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) < 4 {
		t.Errorf("audit has %d login events, want every failure recorded", len(events))
	}
}

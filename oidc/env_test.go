package oidc_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/oauth2"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/demo"
	"github.com/sesameauth/sesame/internal/keys"
	"github.com/sesameauth/sesame/internal/password"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/internal/session"
	"github.com/sesameauth/sesame/oauth"
	"github.com/sesameauth/sesame/oidc"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/sqlite"
	"github.com/sesameauth/sesame/web"
	"github.com/sesameauth/sesame/web/ui"
)

// cheap keeps argon2id fast in tests; the hashing cost is not under test.
var cheap = password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

const (
	alicePassword = "correct horse battery staple"
	bobPassword   = "tr0ub4dor&3 is weak"
	confSecret    = "conf-app-secret-0123456789abcdef0123456789"
)

// env is a whole server (oauth + oidc + web on one gin router) over a real
// SQLite store, listening on httptest.
type env struct {
	t      *testing.T
	store  storage.Store
	srv    *httptest.Server
	issuer string
	ring   *secret.Keyring
	alice  storage.User
	bob    storage.User
	// logs holds what the handlers logged (error pages log their
	// reference id beside the protocol detail).
	logs *lockedBuffer
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var refOnPage = regexp.MustCompile(`<code class="ref">([A-Z0-9-]+)</code>`)

// errorLogged checks that an error page shows a reference id and no
// protocol detail, and that the log line with that reference carries the
// protocol detail (each of want).
func (e *env) errorLogged(t *testing.T, body string, want ...string) {
	t.Helper()
	m := refOnPage.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("error page without a reference id:\n%s", body)
	}
	for _, w := range want {
		if strings.Contains(body, w) {
			t.Errorf("error page shows protocol detail %q", w)
		}
	}
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if !strings.Contains(line, "ref="+m[1]) {
			continue
		}
		for _, w := range want {
			if !strings.Contains(line, w) {
				t.Errorf("log line of ref %s lacks %q: %s", m[1], w, line)
			}
		}
		return
	}
	t.Errorf("no log line with ref=%s in:\n%s", m[1], e.logs.String())
}

type envConfig struct {
	authCodeLifetime time.Duration
}

func newEnv(t *testing.T, opts ...func(*envConfig)) *env {
	t.Helper()
	cfg := envConfig{authCodeLifetime: 5 * time.Minute}
	for _, o := range opts {
		o(&cfg)
	}
	ctx := context.Background()
	store, ring := testStore(t)

	var mu sync.RWMutex
	var router http.Handler = http.NotFoundHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.RLock()
		h := router
		mu.RUnlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	issuer := srv.URL
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))

	km, err := keys.New(ctx, store, ring, keys.Options{Algorithms: []string{"ES256"}, Logger: logger})
	if err != nil {
		t.Fatalf("keys: %v", err)
	}
	oh, err := oauth.New(oauth.Deps{
		Config: oauth.Config{
			Issuer: issuer, AccessTokenLifetime: 15 * time.Minute, RefreshTokenLifetime: time.Hour,
			IDTokenLifetime: time.Hour, AuthCodeLifetime: cfg.authCodeLifetime, RotateRefreshTokens: true,
			IDTokenSigningAlg: "ES256", AccessTokenSigningAlg: "ES256",
		},
		Store: store, Keys: km, Ring: ring, PasswordParams: cheap, Logger: logger,
	})
	if err != nil {
		t.Fatalf("oauth: %v", err)
	}
	sessions := session.New(store, issuer, time.Hour, nil)
	wh, err := web.New(web.Deps{App: app.New(store, ring, cheap, nil), Store: store, Sessions: sessions, Issuer: issuer, Logger: logger,
		PasswordParams: cheap})
	if err != nil {
		t.Fatalf("web: %v", err)
	}
	dh, err := demo.New(demo.Deps{Issuer: issuer, ClientID: "demo-app", Logger: logger})
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	ih, err := oidc.New(oidc.Deps{OAuth: oh, Store: store, Sessions: sessions, Keys: km, Issuer: issuer, Logger: logger})
	if err != nil {
		t.Fatalf("oidc: %v", err)
	}
	gin.SetMode(gin.TestMode)
	g := gin.New()
	g.NoRoute(gin.WrapF(ui.NotFound)) // as internal/server does
	g.Use(func(c *gin.Context) { ui.Negotiate(c.Writer, c.Request); c.Next() })
	oh.Mount(g)
	ih.Mount(g)
	wh.Mount(g)
	dh.Mount(g)
	mu.Lock()
	router = g
	mu.Unlock()

	e := &env{t: t, store: store, srv: srv, issuer: issuer, ring: ring, logs: logs}
	e.alice = e.addUser("alice", alicePassword, "Alice Liddell", "alice@example.com")
	e.bob = e.addUser("bob", bobPassword, "Bob", "bob@example.com")
	all := []string{"openid", "profile", "email", "offline_access"}
	e.addClient(storage.Client{ID: "public-app", Name: "Public App", Public: true, TokenEndpointAuthMethod: "none",
		RedirectURIs: []string{issuer + "/cb"}, GrantTypes: []string{"authorization_code", "refresh_token"},
		ResponseTypes: []string{"code"}, Scopes: all, PolicyURI: "https://example.com/privacy", TermsURI: "https://example.com/terms"})
	e.addClient(storage.Client{ID: "conf-app", Name: "Confidential App", SecretHash: ring.HashClientSecret(confSecret),
		TokenEndpointAuthMethod: "client_secret_basic",
		RedirectURIs:            []string{issuer + "/cb2"}, PostLogoutRedirectURIs: []string{issuer + "/bye"},
		GrantTypes: []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"}, Scopes: all})
	e.addClient(storage.Client{ID: "first-party", Name: "First Party", Public: true, TokenEndpointAuthMethod: "none", SkipConsent: true,
		RedirectURIs: []string{issuer + "/cb3"}, GrantTypes: []string{"authorization_code"}, ResponseTypes: []string{"code"},
		Scopes: []string{"openid", "profile"}})
	e.addClient(storage.Client{ID: "demo-app", Name: "Sesame demo app", Public: true, TokenEndpointAuthMethod: "none",
		RedirectURIs: []string{issuer + "/demo/callback"}, GrantTypes: []string{"authorization_code", "refresh_token"},
		ResponseTypes: []string{"code"}, Scopes: all})
	return e
}

func (e *env) addUser(name, pw, full, email string) storage.User {
	e.t.Helper()
	enc, err := password.Hash(pw, cheap)
	if err != nil {
		e.t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	u := storage.User{ID: "u-" + name, Username: name, PasswordHash: enc, Name: full, Email: email,
		EmailVerified: true, CreatedAt: now, UpdatedAt: now}
	if err := e.store.CreateUser(context.Background(), u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) addClient(c storage.Client) {
	e.t.Helper()
	c.CreatedAt, c.UpdatedAt = time.Now(), time.Now()
	if err := e.store.CreateClient(context.Background(), c); err != nil {
		e.t.Fatal(err)
	}
}

// browser is a cookie-keeping HTTP client that does not follow redirects.
type browser struct {
	e   *env
	c   *http.Client
	jar *cookiejar.Jar
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, jar: jar, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (b *browser) get(u string) (*http.Response, string) {
	b.e.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = b.e.issuer + u
	}
	resp, err := b.c.Get(u)
	if err != nil {
		b.e.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) post(u string, form url.Values) (*http.Response, string) {
	b.e.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = b.e.issuer + u
	}
	resp, err := b.c.PostForm(u, form)
	if err != nil {
		b.e.t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.e.issuer)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

var (
	csrfRE   = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

func formOf(t *testing.T, body string) (action, csrf string) {
	t.Helper()
	a, c := actionRE.FindStringSubmatch(body), csrfRE.FindStringSubmatch(body)
	if a == nil || c == nil {
		t.Fatalf("no form with csrf_token in page:\n%s", body)
	}
	return strings.ReplaceAll(a[1], "&amp;", "&"), c[1]
}

// authRequest is an authorization request with PKCE, state and nonce.
type authRequest struct {
	clientID, redirect, scope, state, nonce, verifier string
	extra                                             url.Values
}

func (e *env) newAuthRequest(clientID, redirectPath string) *authRequest {
	return &authRequest{clientID: clientID, redirect: e.issuer + redirectPath,
		scope: "openid profile email offline_access", state: "state-" + secretish(),
		nonce: "nonce-" + secretish(), verifier: oauth2.GenerateVerifier(), extra: url.Values{}}
}

func secretish() string {
	s, _ := secret.RandomToken(12)
	return s
}

func (a *authRequest) url(issuer string) string {
	q := url.Values{
		"response_type": {"code"}, "client_id": {a.clientID}, "redirect_uri": {a.redirect},
		"scope": {a.scope}, "state": {a.state}, "nonce": {a.nonce},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(a.verifier)}, "code_challenge_method": {"S256"},
	}
	for k, v := range a.extra {
		q[k] = v
	}
	return issuer + oidc.PathAuthorize + "?" + q.Encode()
}

func (a *authRequest) oauth2Config(issuer, secret string) *oauth2.Config {
	return &oauth2.Config{ClientID: a.clientID, ClientSecret: secret, RedirectURL: a.redirect,
		Endpoint: oauth2.Endpoint{AuthURL: issuer + oidc.PathAuthorize, TokenURL: issuer + oauth.PathToken,
			AuthStyle: authStyle(secret)}}
}

func authStyle(secret string) oauth2.AuthStyle {
	if secret == "" {
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleInHeader
}

// location returns the parsed Location of a 303, failing otherwise.
func location(t *testing.T, resp *http.Response, body string) *url.URL {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d, want 303; body:\n%s", resp.StatusCode, body)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if !u.IsAbs() {
		u = mustParse(resp.Request.URL.ResolveReference(u).String())
	}
	return u
}

func mustParse(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// login follows an authorize URL to the login page and signs in; it
// returns the response after the login POST.
func (b *browser) login(authorizeURL, username, pw string) (*http.Response, string) {
	t := b.e.t
	t.Helper()
	resp, body := b.get(authorizeURL)
	loginURL := location(t, resp, body)
	if loginURL.Path != "/login" {
		t.Fatalf("authorize redirected to %s, want /login", loginURL)
	}
	resp, body = b.get(loginURL.String())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login page status %d", resp.StatusCode)
	}
	action, csrf := formOf(t, body)
	return b.post(action, url.Values{"username": {username}, "password": {pw}, "csrf_token": {csrf}})
}

// follow follows 303s until one leaves the issuer's UI (or a page is
// returned), returning the last response.
func (b *browser) follow(resp *http.Response, body string) (*http.Response, string) {
	for i := 0; i < 10 && resp.StatusCode == http.StatusSeeOther; i++ {
		u := location(b.e.t, resp, body)
		if !strings.HasPrefix(u.String(), b.e.issuer+"/oauth2/") && u.Path != "/login" && u.Path != "/consent" {
			return resp, body
		}
		resp, body = b.get(u.String())
	}
	return resp, body
}

// consent submits the consent page in body.
func (b *browser) consent(body, decision string, remember bool) (*http.Response, string) {
	b.e.t.Helper()
	action, csrf := formOf(b.e.t, body)
	f := url.Values{"decision": {decision}, "csrf_token": {csrf}}
	if remember {
		f.Set("remember", "1")
	}
	return b.post(action, f)
}

// codeFrom checks a successful authorization response and returns the code.
func codeFrom(t *testing.T, e *env, a *authRequest, resp *http.Response, body string) string {
	t.Helper()
	u := location(t, resp, body)
	if got := u.Scheme + "://" + u.Host + u.Path; got != a.redirect {
		t.Fatalf("redirected to %s, want %s", got, a.redirect)
	}
	q := u.Query()
	if q.Get("error") != "" {
		t.Fatalf("authorization error %s: %s", q.Get("error"), q.Get("error_description"))
	}
	if q.Get("state") != a.state {
		t.Errorf("state = %q, want %q", q.Get("state"), a.state)
	}
	if q.Get("iss") != e.issuer {
		t.Errorf("iss = %q, want %q (RFC 9207)", q.Get("iss"), e.issuer)
	}
	if q.Get("code") == "" {
		t.Fatal("no code in the authorization response")
	}
	return q.Get("code")
}

// testStore is a migrated SQLite store in a temporary directory, closed
// when the test ends, and a keyring with a random secret.
func testStore(tb testing.TB) (*sqlite.Store, *secret.Keyring) {
	tb.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "sesame.db"))
	if err != nil {
		tb.Fatalf("sqlite open: %v", err)
	}
	tb.Cleanup(func() { _ = store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	ring, err := secret.New(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return store, ring
}

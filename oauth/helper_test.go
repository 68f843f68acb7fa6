package oauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/keys"
	"github.com/sesameauth/sesame/internal/password"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
	"github.com/sesameauth/sesame/storage/sqlite"
)

// testPasswordParams keep argon2id cheap in tests (the cost is not what
// is tested here).
var testPasswordParams = password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

// backend is a real storage backend for the shared tests.
type backend struct {
	name string
	open func(t *testing.T) (store storage.Store, breakIt func())
}

var backends = []backend{
	{"sqlite", func(t *testing.T) (storage.Store, func()) {
		ctx := context.Background()
		s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "sesame.db"))
		if err != nil {
			t.Fatalf("sqlite open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatalf("sqlite migrate: %v", err)
		}
		return s, func() { _ = s.Close() }
	}},
	{"postgres", func(t *testing.T) (storage.Store, func()) {
		s := pgtest.Open(t)
		return s, func() { pgtest.Break(t, s) }
	}},
}

// eachBackend runs fn as a parallel subtest per backend (each gets its own
// database, so tests do not interfere; setting up a Postgres database is
// mostly waiting).
func eachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Helper()
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

func init() { gin.SetMode(gin.TestMode) }

// clock is a settable clock shared by the handler and the key manager.
type clock struct {
	mu  sync.Mutex
	now time.Time
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// env is one server under test.
type env struct {
	t       *testing.T
	store   storage.Store
	breakDB func()
	ring    *secret.Keyring
	keys    *keys.Manager
	h       *Handler
	srv     *httptest.Server
	clock   *clock
	// http does not follow redirects (authorize responses are inspected).
	http *http.Client
}

type envOption func(*Config, *keys.Options)

// newEnv starts a server on b. ES256 signs both ID and access tokens by
// default: RSA key generation is slow under -race.
func newEnv(t *testing.T, b backend, opts ...envOption) *env {
	t.Helper()
	store, breakIt := b.open(t)
	return newEnvOn(t, store, breakIt, opts...)
}

func newEnvOn(t *testing.T, store storage.Store, breakIt func(), opts ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	ring, err := secret.New(raw)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := Config{
		AccessTokenLifetime:   15 * time.Minute,
		RefreshTokenLifetime:  24 * time.Hour,
		IDTokenLifetime:       time.Hour,
		AuthCodeLifetime:      10 * time.Minute,
		RotateRefreshTokens:   true,
		AccessTokenFormat:     FormatJWT,
		IDTokenSigningAlg:     keys.ES256,
		AccessTokenSigningAlg: keys.ES256,
	}
	kopts := keys.Options{Algorithms: []string{keys.ES256}, Now: clk.Now, Logger: logger}
	for _, o := range opts {
		o(&cfg, &kopts)
	}
	km, err := keys.New(ctx, store, ring, kopts)
	if err != nil {
		t.Fatalf("keys.New: %v", err)
	}
	r := gin.New()
	srv := httptest.NewUnstartedServer(r)
	srv.Start()
	t.Cleanup(srv.Close)
	cfg.Issuer = srv.URL
	h, err := New(Deps{Config: cfg, Store: store, Keys: km, Ring: ring, PasswordParams: testPasswordParams, Logger: logger, Now: clk.Now})
	if err != nil {
		t.Fatalf("oauth.New: %v", err)
	}
	h.Mount(r)
	e := &env{t: t, store: store, breakDB: breakIt, ring: ring, keys: km, h: h, srv: srv, clock: clk,
		http: &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	r.GET("/test/authorize", e.testAuthorize)
	return e
}

// testAuthorize is a test-only authorize endpoint that auto-approves every
// requested scope for the user named by the "test_user" query parameter.
func (e *env) testAuthorize(c *gin.Context) {
	ctx := c.Request.Context()
	a, err := e.h.ParseAuthorizeRequest(ctx, c.Request)
	if err != nil {
		e.writeAuthorizeError(c, a, err)
		return
	}
	a.Grant(a.RequestedScopes(), a.RequestedAudience())
	user := c.Query("test_user")
	now := time.Now()
	resp, err := e.h.IssueCode(ctx, a, AuthorizeGrant{UserID: user, Username: "user-" + user, AuthTime: now, RequestedAt: now})
	if err != nil {
		e.writeAuthorizeError(c, a, err)
		return
	}
	e.h.WriteAuthorizeResponse(ctx, c.Writer, a, resp)
}

// writeAuthorizeError answers as package oidc does: a redirect when the
// client and redirect URI are valid, else a plain status.
func (e *env) writeAuthorizeError(c *gin.Context, a *AuthorizeRequest, err error) {
	f := e.h.AuthorizeFailure(a, err)
	switch {
	case f.Unavailable != nil:
		c.String(http.StatusServiceUnavailable, "temporarily_unavailable")
	case f.RedirectTo != nil:
		c.Redirect(http.StatusSeeOther, f.RedirectTo.String())
	default:
		c.String(f.Status, f.Code)
	}
}

func withConfig(f func(*Config)) envOption { return func(c *Config, _ *keys.Options) { f(c) } }

// randomString returns a random url-safe string.
func randomString(t *testing.T) string {
	t.Helper()
	s, err := secret.RandomToken(18)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// createClient stores c (ID and secret generated when empty) and returns
// it with its clear secret.
func (e *env) createClient(c storage.Client) (storage.Client, string) {
	e.t.Helper()
	if c.ID == "" {
		c.ID = "client-" + randomString(e.t)[:10]
	}
	var clear string
	if !c.Public && c.TokenEndpointAuthMethod != "none" && c.TokenEndpointAuthMethod != "private_key_jwt" {
		clear = randomString(e.t)
		c.SecretHash = e.ring.HashClientSecret(clear)
	}
	if c.TokenEndpointAuthMethod == "" {
		if c.Public {
			c.TokenEndpointAuthMethod = "none"
		} else {
			c.TokenEndpointAuthMethod = "client_secret_basic"
		}
	}
	c.CreatedAt, c.UpdatedAt = time.Now().UTC(), time.Now().UTC()
	if err := e.store.CreateClient(context.Background(), c); err != nil {
		e.t.Fatalf("create client: %v", err)
	}
	return c, clear
}

// createUser stores a user with password pw and returns its id.
func (e *env) createUser(username, pw string, disabled bool) string {
	e.t.Helper()
	hash, err := password.Hash(pw, testPasswordParams)
	if err != nil {
		e.t.Fatal(err)
	}
	u := storage.User{ID: "user-" + randomString(e.t)[:12], Username: username, PasswordHash: hash, Disabled: disabled,
		CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC()}
	if err := e.store.CreateUser(context.Background(), u); err != nil {
		e.t.Fatalf("create user: %v", err)
	}
	return u.ID
}

// response is a decoded JSON answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r response) str(k string) string { s, _ := r.body[k].(string); return s }

// post sends a form to path, with HTTP Basic credentials when user != "".
func (e *env) post(path string, form url.Values, user, pass string) response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	return e.do(req)
}

func (e *env) do(req *http.Request) response {
	e.t.Helper()
	res, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out := response{status: res.StatusCode, header: res.Header, raw: string(b)}
	if len(b) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &out.body); err != nil {
			e.t.Fatalf("%s: decode %q: %v", req.URL.Path, b, err)
		}
	}
	return out
}

// clientCredentials gets a token with client_credentials.
func (e *env) clientCredentials(id, sec string, extra url.Values) response {
	e.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	for k, v := range extra {
		form[k] = v
	}
	return e.post(PathToken, form, id, sec)
}

// introspect asks about token as the given client.
func (e *env) introspect(token, id, sec string) response {
	e.t.Helper()
	r := e.post(PathIntrospect, url.Values{"token": {token}}, id, sec)
	if r.status != http.StatusOK {
		e.t.Fatalf("introspect: status %d: %s", r.status, r.raw)
	}
	return r
}

func (e *env) active(token, id, sec string) bool {
	e.t.Helper()
	b, _ := e.introspect(token, id, sec).body["active"].(bool)
	return b
}

// mustToken asserts a 200 token response with no-store headers.
func mustToken(t *testing.T, r response) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("token request: status %d: %s", r.status, r.raw)
	}
	if r.str("access_token") == "" {
		t.Fatalf("token response without access_token: %s", r.raw)
	}
	if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Pragma") != "no-cache" {
		t.Fatalf("token response cache headers: %v", r.header)
	}
}

// mustError asserts an error response with the given RFC error code and
// no token in it.
func mustError(t *testing.T, r response, code string) {
	t.Helper()
	if r.str("error") != code {
		t.Fatalf("want error %q, got status %d: %s", code, r.status, r.raw)
	}
	if r.status < 400 {
		t.Fatalf("error %q with status %d", code, r.status)
	}
	for _, k := range []string{"access_token", "refresh_token", "id_token"} {
		if _, ok := r.body[k]; ok {
			t.Fatalf("error response carries %s: %s", k, r.raw)
		}
	}
	if strings.Contains(r.raw, "error_debug") || strings.Contains(r.raw, ".go:") {
		t.Fatalf("error response leaks debug information: %s", r.raw)
	}
}

// pkcePair returns a verifier and its S256 challenge.
func pkcePair(t *testing.T) (string, string) {
	t.Helper()
	v := randomString(t) + randomString(t)
	return v, s256(v)
}

func s256(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorize runs the test authorize endpoint and returns the code.
func (e *env) authorize(clientID, redirectURI, scope, challenge, user string) string {
	e.t.Helper()
	q := url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI},
		"scope": {scope}, "state": {"state-" + randomString(e.t)}, "nonce": {"nonce-" + randomString(e.t)},
		"test_user": {user},
	}
	if challenge != "" {
		q.Set("code_challenge", challenge)
		q.Set("code_challenge_method", "S256")
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/test/authorize?"+q.Encode(), nil)
	res, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusFound {
		b, _ := io.ReadAll(res.Body)
		e.t.Fatalf("authorize: status %d location %q: %s", res.StatusCode, res.Header.Get("Location"), b)
	}
	code := loc.Query().Get("code")
	if code == "" {
		e.t.Fatalf("authorize: no code in %s", loc)
	}
	return code
}

// tokenUse reports the number of active refresh token rows of a grant.
func (e *env) activeRefreshTokens(requestID string) int {
	e.t.Helper()
	recs, err := e.store.ListByRequestID(context.Background(), storage.KindRefreshToken, requestID)
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		if r.Active {
			n++
		}
	}
	return n
}

// requestIDOf returns the grant id of a refresh token.
func (e *env) requestIDOf(refresh string) string {
	e.t.Helper()
	rec, err := e.store.GetToken(context.Background(), storage.KindRefreshToken,
		secret.HashToken(e.h.strategy.RefreshTokenSignature(context.Background(), refresh)))
	if err != nil {
		e.t.Fatalf("refresh token record: %v", err)
	}
	return rec.RequestID
}

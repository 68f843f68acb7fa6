package security

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/config"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/internal/server"
	"github.com/sesameauth/sesame/storage"
)

// testSecret is the SESAME_SECRET of every test server (≥ 32 bytes). The
// log test greps for it.
const testSecret = "security-suite-system-secret-0123456789abcdef"

// logBuffer is a log sink safe for the server's goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// srv is one running server.
type srv struct {
	t      *testing.T
	s      *server.Server
	issuer string
	logs   *logBuffer
	ctx    context.Context
	hc     *http.Client // nil = plain; see (*srv).as
}

// baseConfig is config.Default adjusted for tests: SQLite in a temp dir, a
// fixed secret, no demo data, the cheapest argon2id cost config accepts,
// debug JSON logs, and no per-IP rate limits (one test turns them on;
// every request here comes from 127.0.0.1).
func baseConfig(t *testing.T) config.Config {
	cfg := config.Default()
	cfg.DatabaseURL = "sqlite:" + filepath.Join(t.TempDir(), "sesame.db")
	cfg.Secret = testSecret
	cfg.Demo = false
	cfg.Argon2MemoryKiB, cfg.Argon2Iterations = 7168, 5
	cfg.RateLimitEnabled = false
	cfg.LogFormat, cfg.LogLevel = "json", "debug"
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.ShutdownDelay = 0 // tests stop servers at once
	cfg.KeyRotationInterval = 0
	cfg.IDTokenSigningAlg = "ES256" // RSA key generation is slow under -race
	return cfg
}

// issuerLocalhost as cfg.Issuer makes start use http://localhost:PORT.
const issuerLocalhost = "http://localhost"

// start boots a server with cfg (Issuer and Listen are set here) on a
// fresh loopback listener and stops it when the test ends.
func start(t *testing.T, cfg config.Config, opts ...server.Option) *srv {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	if cfg.Issuer == config.Default().Issuer {
		cfg.Issuer = scheme + "://" + ln.Addr().String()
	}
	if cfg.Issuer == issuerLocalhost {
		// A host name, not an address: WebAuthn refuses IP addresses as
		// relying-party ids (the passkey browser test).
		cfg.Issuer = "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	}
	cfg.Listen = ln.Addr().String()
	logs := &logBuffer{}
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: level}))
	opts = append([]server.Option{server.WithOutput(io.Discard)}, opts...)
	s, err := server.New(context.Background(), cfg, logger, opts...)
	if err != nil {
		ln.Close()
		t.Fatalf("server.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		// A transport that dialled for a request another connection then
		// served keeps that connection unused; the server counts such a
		// never-used connection as active for 5 s and Shutdown would wait
		// on it. Close the clients' idle connections first.
		if tr, ok := http.DefaultTransport.(*http.Transport); ok {
			tr.CloseIdleConnections()
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &srv{t: t, s: s, issuer: s.Config.Issuer, logs: logs, ctx: context.Background()}
}

// with returns s reporting to t (a subtest): helpers fail the right test.
func (s *srv) with(t *testing.T) *srv {
	c := *s
	c.t = t
	return &c
}

// newServer is start(baseConfig) with an optional adjustment.
func newServer(t *testing.T, adjust ...func(*config.Config)) *srv {
	t.Helper()
	cfg := baseConfig(t)
	for _, a := range adjust {
		a(&cfg)
	}
	return start(t, cfg)
}

func (s *srv) user(name, pw string) storage.User {
	s.t.Helper()
	u, err := s.s.App.CreateUser(s.ctx, "test", app.NewUser{Username: name, Password: pw, Email: name + "@example.com", Name: name})
	if err != nil {
		s.t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

// client registers a client; it returns the record and its secret ("" for
// a public client).
func (s *srv) client(spec app.ClientSpec) (storage.Client, string) {
	s.t.Helper()
	c, sec, err := s.s.App.CreateClient(s.ctx, "test", spec)
	if err != nil {
		s.t.Fatalf("create client %+v: %v", spec, err)
	}
	return c, sec
}

// webClient is a confidential authorization-code client with refresh tokens.
func (s *srv) webClient(name string, skipConsent bool) (storage.Client, string) {
	return s.client(app.ClientSpec{Name: name, RedirectURIs: []string{"https://" + name + ".example.com/cb"},
		GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid", "profile", "email", "offline_access", "api:read", "api:write"},
		SkipConsent: skipConsent})
}

// ---- plain HTTP ----------------------------------------------------------

type resp struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (r resp) str(k string) string { v, _ := r.json[k].(string); return v }

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

var plain = &http.Client{Timeout: 30 * time.Second, CheckRedirect: noRedirect}

func (s *srv) do(req *http.Request) resp {
	s.t.Helper()
	if s.hc != nil {
		return doWith(s.t, s.hc, req)
	}
	return doWith(s.t, plain, req)
}

func doWith(t *testing.T, c *http.Client, req *http.Request) resp {
	t.Helper()
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, header: res.Header, body: body}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(body, &r.json)
	}
	return r
}

// post sends a form, with HTTP Basic client authentication when id != "".
func (s *srv) post(path string, form url.Values, id, sec string) resp {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.issuer+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(sec))
	}
	return s.do(req)
}

func (s *srv) get(path string, header ...string) resp {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.issuer+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return s.do(req)
}

func (s *srv) token(form url.Values, id, sec string) resp {
	s.t.Helper()
	return s.post("/oauth2/token", form, id, sec)
}

func (s *srv) introspect(tok, id, sec string) resp {
	s.t.Helper()
	return s.post("/oauth2/introspect", url.Values{"token": {tok}}, id, sec)
}

func (s *srv) active(tok, id, sec string) bool {
	s.t.Helper()
	r := s.introspect(tok, id, sec)
	if r.status != http.StatusOK {
		s.t.Fatalf("introspect: %d %s", r.status, r.body)
	}
	return r.json["active"] == true
}

func (s *srv) userinfo(tok string) resp {
	s.t.Helper()
	return s.get("/userinfo", "Authorization", "Bearer "+tok)
}

// wantError asserts an OAuth error response.
func wantError(t *testing.T, r resp, status int, code string) {
	t.Helper()
	if r.status != status || r.str("error") != code {
		t.Fatalf("got %d %s, want %d error=%s", r.status, r.body, status, code)
	}
}

func wantTokens(t *testing.T, r resp) {
	t.Helper()
	if r.status != http.StatusOK || r.str("access_token") == "" {
		t.Fatalf("token request failed: %d %s", r.status, r.body)
	}
}

// ---- browser -------------------------------------------------------------

type browser struct {
	s   *srv
	c   *http.Client
	jar *cookiejar.Jar
}

func (s *srv) browser() *browser {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: noRedirect}
	if s.hc != nil {
		c.Transport = s.hc.Transport // same source address (see (*srv).as)
	}
	return &browser{s: s, jar: jar, c: c}
}

func (b *browser) abs(u string) string {
	if strings.HasPrefix(u, "/") {
		return b.s.issuer + u
	}
	return u
}

func (b *browser) get(u string) resp {
	b.s.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.abs(u), nil)
	return doWith(b.s.t, b.c, req)
}

func (b *browser) post(u string, form url.Values) resp {
	b.s.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.abs(u), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return doWith(b.s.t, b.c, req)
}

var (
	csrfRE   = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

func formOf(t *testing.T, body []byte) (action, csrf string) {
	t.Helper()
	a, c := actionRE.FindSubmatch(body), csrfRE.FindSubmatch(body)
	if a == nil || c == nil {
		t.Fatalf("no form with csrf_token in page:\n%s", body)
	}
	return strings.ReplaceAll(string(a[1]), "&amp;", "&"), string(c[1])
}

func location(t *testing.T, r resp) *url.URL {
	t.Helper()
	if r.status != http.StatusSeeOther && r.status != http.StatusFound {
		t.Fatalf("status %d, want a redirect; body:\n%s", r.status, r.body)
	}
	u, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// authz is an authorization request with PKCE S256, state and nonce.
type authz struct {
	clientID, redirect, scope, state, nonce, verifier string
	extra                                             url.Values
}

func random(t *testing.T) string {
	v, err := secret.RandomToken(16)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func s256(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func newAuthz(t *testing.T, c storage.Client, scope string) *authz {
	return &authz{clientID: c.ID, redirect: c.RedirectURIs[0], scope: scope, state: "st-" + random(t),
		nonce: "n-" + random(t), verifier: random(t) + random(t), extra: url.Values{}}
}

func (a *authz) query() url.Values {
	q := url.Values{"response_type": {"code"}, "client_id": {a.clientID}, "redirect_uri": {a.redirect},
		"scope": {a.scope}, "state": {a.state}, "nonce": {a.nonce},
		"code_challenge": {s256(a.verifier)}, "code_challenge_method": {"S256"}}
	for k, v := range a.extra {
		q[k] = v
	}
	for k, v := range q {
		if len(v) == 1 && v[0] == "" {
			delete(q, k)
		}
	}
	return q
}

func (a *authz) path() string { return "/oauth2/authorize?" + a.query().Encode() }

// login signs in on the login page the authorize request leads to and
// returns the response to the login POST.
func (b *browser) login(a *authz, username, pw string) resp {
	t := b.s.t
	t.Helper()
	r := b.get(a.path())
	u := location(t, r)
	if u.Path != "/login" {
		t.Fatalf("authorize redirected to %s, want /login", u)
	}
	r = b.get(u.String())
	action, csrf := formOf(t, r.body)
	return b.post(action, url.Values{"username": {username}, "password": {pw}, "csrf_token": {csrf}})
}

// follow follows redirects inside the issuer's UI; it returns the first
// response that leaves it (or a page).
func (b *browser) follow(r resp) resp {
	for i := 0; i < 10 && (r.status == http.StatusSeeOther || r.status == http.StatusFound); i++ {
		u := location(b.s.t, r)
		abs := b.abs(u.String())
		if !strings.HasPrefix(abs, b.s.issuer+"/") {
			return r
		}
		r = b.get(abs)
	}
	return r
}

// code runs the whole authorization: login, consent (allow) when shown,
// and returns the code from the redirect to the client.
func (b *browser) code(a *authz, username, pw string) string {
	t := b.s.t
	t.Helper()
	r := b.follow(b.login(a, username, pw))
	if r.status == http.StatusOK && bytes.Contains(r.body, []byte(`name="decision"`)) {
		action, csrf := formOf(t, r.body)
		r = b.follow(b.post(action, url.Values{"decision": {"allow"}, "csrf_token": {csrf}}))
	}
	u := location(t, r)
	if got := u.Scheme + "://" + u.Host + u.Path; got != a.redirect {
		t.Fatalf("redirected to %s, want %s", u, a.redirect)
	}
	q := u.Query()
	if q.Get("code") == "" || q.Get("state") != a.state {
		t.Fatalf("authorization response %s", u)
	}
	return q.Get("code")
}

// exchange redeems a code with the verifier of a; a public client (sec
// "") sends its client_id in the body.
func (s *srv) exchange(a *authz, code, id, sec string) resp {
	s.t.Helper()
	f := url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {a.redirect}, "code_verifier": {a.verifier}}
	if sec == "" {
		f.Set("client_id", id)
		id = ""
	}
	return s.token(f, id, sec)
}

// code runs a whole authorization in a fresh browser and returns the code.
func (s *srv) code(a *authz, username, pw string) string {
	s.t.Helper()
	return s.browser().code(a, username, pw)
}

// passwordGrant runs the resource owner password grant.
func (s *srv) passwordGrant(id, sec, username, pw, scope string) resp {
	s.t.Helper()
	return s.token(url.Values{"grant_type": {"password"}, "username": {username}, "password": {pw}, "scope": {scope}}, id, sec)
}

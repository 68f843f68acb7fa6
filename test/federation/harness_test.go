package federation

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

const testSecret = "federation-suite-system-secret-0123456789abcdef"

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

// srv is one running Sesame.
type srv struct {
	t      *testing.T
	s      *server.Server
	issuer string
	logs   *logBuffer
	stop   func()
}

func baseConfig(t *testing.T) config.Config {
	cfg := config.Default()
	cfg.DatabaseURL = "sqlite:" + filepath.Join(t.TempDir(), "sesame.db")
	cfg.Secret = testSecret
	cfg.Demo = false
	cfg.Argon2MemoryKiB, cfg.Argon2Iterations = 7168, 5
	cfg.RateLimitEnabled = false
	cfg.LogFormat, cfg.LogLevel = "json", "debug"
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.ShutdownDelay = 0
	cfg.KeyRotationInterval = 0
	cfg.IDTokenSigningAlg = "ES256" // RSA key generation is slow under -race
	return cfg
}

// listen reserves a loopback port, so that a server's issuer is known
// before it starts (the upstream needs the redirect URI of the other).
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func issuerOf(ln net.Listener) string { return "http://" + ln.Addr().String() }

// start boots Sesame with cfg on ln and stops it when the test ends (or
// at srv.stop).
func start(t *testing.T, ln net.Listener, cfg config.Config, opts ...server.Option) *srv {
	t.Helper()
	cfg.Issuer = issuerOf(ln)
	cfg.Listen = ln.Addr().String()
	logs := &logBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts = append([]server.Option{server.WithOutput(io.Discard)}, opts...)
	s, err := server.New(context.Background(), cfg, logger, opts...)
	if err != nil {
		ln.Close()
		t.Fatalf("server.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return &srv{t: t, s: s, issuer: s.Config.Issuer, logs: logs, stop: stop}
}

func (s *srv) user(name, pw, email string) storage.User {
	s.t.Helper()
	u, err := s.s.App.CreateUser(context.Background(), "test", app.NewUser{Username: name, Password: pw, Email: email, EmailVerified: true, Name: "Person " + name})
	if err != nil {
		s.t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

func (s *srv) client(spec app.ClientSpec) (storage.Client, string) {
	s.t.Helper()
	c, sec, err := s.s.App.CreateClient(context.Background(), "test", spec)
	if err != nil {
		s.t.Fatalf("create client: %v", err)
	}
	return c, sec
}

// ---- browser ---------------------------------------------------------

type resp struct {
	status int
	header http.Header
	body   []byte
	url    string
}

func (r resp) location(t *testing.T) *url.URL {
	t.Helper()
	if r.status != http.StatusSeeOther && r.status != http.StatusFound {
		t.Fatalf("%s: status %d, want a redirect; body:\n%s", r.url, r.status, r.body)
	}
	u, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if !u.IsAbs() {
		base, _ := url.Parse(r.url)
		u = base.ResolveReference(u)
	}
	return u
}

type browser struct {
	t   *testing.T
	c   *http.Client
	jar *cookiejar.Jar
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, jar: jar, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(req *http.Request) resp {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: body, url: req.URL.String()}
}

func (b *browser) get(u string) resp {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) resp {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// follow follows redirects until a page, or a redirect whose target
// stop says to stop at.
func (b *browser) follow(r resp, stop func(*url.URL) bool) resp {
	b.t.Helper()
	for i := 0; i < 20 && (r.status == http.StatusSeeOther || r.status == http.StatusFound); i++ {
		u := r.location(b.t)
		if stop != nil && stop(u) {
			return r
		}
		r = b.get(u.String())
	}
	return r
}

var (
	csrfRE   = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

// submitLogin fills the login form of page (at pageURL) and posts it.
func (b *browser) submitLogin(page resp, username, pw string) resp {
	b.t.Helper()
	a, c := actionRE.FindSubmatch(page.body), csrfRE.FindSubmatch(page.body)
	if a == nil || c == nil {
		b.t.Fatalf("%s: no login form (status %d):\n%s", page.url, page.status, page.body)
	}
	base, _ := url.Parse(page.url)
	action, _ := url.Parse(strings.ReplaceAll(string(a[1]), "&amp;", "&"))
	return b.post(base.ResolveReference(action).String(), url.Values{"username": {username}, "password": {pw}, "csrf_token": {string(c[1])}})
}

// ---- the relying party --------------------------------------------------

// rp is an application registered at the downstream Sesame.
type rp struct {
	id, secret, redirect string
}

func newRP(d *srv) rp {
	c, sec := d.client(app.ClientSpec{Name: "app", RedirectURIs: []string{"https://app.example.test/cb"},
		GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid", "profile", "email", "groups"}, SkipConsent: true})
	return rp{id: c.ID, secret: sec, redirect: c.RedirectURIs[0]}
}

type authz struct{ state, nonce, verifier string }

func random(t *testing.T) string {
	v, err := secret.RandomToken(16)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (a rp) authorizeURL(t *testing.T, d *srv, extra url.Values) (string, authz) {
	z := authz{state: random(t), nonce: random(t), verifier: random(t) + random(t)}
	q := url.Values{"response_type": {"code"}, "client_id": {a.id}, "redirect_uri": {a.redirect},
		"scope": {"openid profile email groups"}, "state": {z.state}, "nonce": {z.nonce},
		"code_challenge": {s256(z.verifier)}, "code_challenge_method": {"S256"}}
	for k, v := range extra {
		q[k] = v
	}
	return d.issuer + "/oauth2/authorize?" + q.Encode(), z
}

func (a rp) isRedirect(u *url.URL) bool { return u.Scheme+"://"+u.Host+u.Path == a.redirect }

// exchange redeems the code and returns the ID token's claims.
func (a rp) exchange(t *testing.T, d *srv, code string, z authz) map[string]any {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {a.redirect}, "code_verifier": {z.verifier}}
	req, _ := http.NewRequest(http.MethodPost, d.issuer+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(a.id), url.QueryEscape(a.secret))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tr struct {
		IDToken string `json:"id_token"`
	}
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || json.Unmarshal(body, &tr) != nil || tr.IDToken == "" {
		t.Fatalf("token: %d %s", res.StatusCode, body)
	}
	return jwtClaims(t, tr.IDToken)
}

func s256(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// jwtClaims reads a JWT's payload (the test trusts its own server here;
// what is under test is what the claims say).
func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

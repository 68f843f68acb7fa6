package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/keys"
	"github.com/sesameauth/sesame/internal/password"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/oauth"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
	"github.com/sesameauth/sesame/storage/sqlite"
)

// fastParams keep password hashing cheap in tests.
var fastParams = password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

const testUA = "admin-test/1.0"

// forEachStore runs fn against a fresh, migrated SQLite store and a fresh
// Postgres database (skipped when SESAME_TEST_DATABASE_URL is unset outside CI).
func forEachStore(t *testing.T, fn func(t *testing.T, st storage.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		ctx := context.Background()
		st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "sesame.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		if _, err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		fn(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, pgtest.Open(t))
	})
}

// env is the server pieces on one gin engine behind httptest: keys, the
// OAuth core (token endpoint) and this package's handler.
type env struct {
	t      *testing.T
	st     storage.Store
	svc    *app.Service
	ring   *secret.Keyring
	oauth  *oauth.Handler
	admin  *Handler
	engine *gin.Engine
	srv    *httptest.Server
	http   *http.Client

	adminClientID string
	adminToken    string
}

type envOption func(*Deps)

func openRegistration(d *Deps) { d.OpenRegistration = true }

func newEnv(t *testing.T, st storage.Store, opts ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	ring, err := secret.New([]byte("admin-test-secret-0123456789abcdef0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	km, err := keys.New(ctx, st, ring, keys.Options{Algorithms: []string{keys.ES256}, Logger: logger})
	if err != nil {
		t.Fatalf("keys.New: %v", err)
	}
	gin.SetMode(gin.TestMode)
	r := gin.New()
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	oh, err := oauth.New(oauth.Deps{
		Config: oauth.Config{
			Issuer: srv.URL, AccessTokenLifetime: 15 * time.Minute, RefreshTokenLifetime: time.Hour,
			IDTokenLifetime: time.Hour, AuthCodeLifetime: 10 * time.Minute, RotateRefreshTokens: true,
			IDTokenSigningAlg: keys.ES256, AccessTokenSigningAlg: keys.ES256,
		},
		Store: st, Keys: km, Ring: ring, PasswordParams: fastParams, Logger: logger,
	})
	if err != nil {
		t.Fatalf("oauth.New: %v", err)
	}
	svc := app.New(st, ring, fastParams, nil)
	d := Deps{App: svc, Store: st, Keys: km, Tokens: OAuthVerifier{OAuth: oh}, Ring: ring, Issuer: srv.URL, Logger: logger}
	for _, o := range opts {
		o(&d)
	}
	ah, err := New(d)
	if err != nil {
		t.Fatalf("admin.New: %v", err)
	}
	oh.Mount(r)
	ah.Mount(r)
	e := &env{t: t, st: st, svc: svc, ring: ring, oauth: oh, admin: ah, engine: r, srv: srv,
		http: &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	r.GET("/test/authorize", e.testAuthorize)
	e.adminClientID, e.adminToken = e.clientToken("sesame:admin")
	return e
}

// clientToken creates a client_credentials client allowed scope (the
// bootstrap of `sesame clients create --scopes sesame:admin`) and gets a
// token for it from the real token endpoint.
func (e *env) clientToken(scope string) (clientID, token string) {
	e.t.Helper()
	cl, sec, err := e.svc.CreateClient(context.Background(), "cli", app.ClientSpec{
		Name: "ops " + scope, GrantTypes: []string{"client_credentials"}, Scopes: app.SplitScope(scope),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return cl.ID, e.ccToken(cl.ID, sec, app.SplitScope(scope)...)
}

func (e *env) ccToken(id, sec string, scopes ...string) string {
	e.t.Helper()
	cc := clientcredentials.Config{ClientID: id, ClientSecret: sec, TokenURL: e.srv.URL + oauth.PathToken, Scopes: scopes}
	tok, err := cc.Token(context.Background())
	if err != nil {
		e.t.Fatalf("client_credentials token for %s: %v", id, err)
	}
	return tok.AccessToken
}

// testAuthorize is a test-only authorize endpoint (package oidc, which owns
// the real one, is not available to this package): it approves every
// requested scope for the user named by test_user.
func (e *env) testAuthorize(c *gin.Context) {
	ctx := c.Request.Context()
	a, err := e.oauth.ParseAuthorizeRequest(ctx, c.Request)
	if err != nil {
		c.String(http.StatusBadRequest, "%v", err)
		return
	}
	a.Grant(a.RequestedScopes(), nil)
	user := c.Query("test_user")
	now := time.Now()
	resp, err := e.oauth.IssueCode(ctx, a, oauth.AuthorizeGrant{UserID: user, Username: user, AuthTime: now, RequestedAt: now})
	if err != nil {
		c.String(http.StatusBadRequest, "%v", err)
		return
	}
	e.oauth.WriteAuthorizeResponse(ctx, c.Writer, a, resp)
}

// response is one HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// apiErr decodes an error answer.
func (r response) apiErr(t *testing.T) apiError {
	t.Helper()
	var e apiError
	r.json(t, &e)
	return e
}

// call sends method path with body (a string is sent verbatim, anything
// else as JSON; nil = no body) and the bearer token.
func (e *env) call(method, path, token string, body any) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("User-Agent", testUA)
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// do calls the admin API with the sesame:admin token and checks the status.
func (e *env) do(method, path string, body any, want int) response {
	e.t.Helper()
	r := e.call(method, path, e.adminToken, body)
	if r.status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r
}

// snapshot counts what a refused request must not change.
type snapshot struct{ clients, users, regTokens, audit int }

func (e *env) snapshot() snapshot {
	e.t.Helper()
	ctx := context.Background()
	cs, _, err := e.st.ListClients(ctx, storage.ListOptions{Limit: storage.MaxListLimit})
	if err != nil {
		e.t.Fatal(err)
	}
	n, err := e.st.CountUsers(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	rts, err := e.st.ListRegistrationTokens(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	ev, _, err := e.st.ListAudit(ctx, storage.AuditFilter{Limit: storage.MaxListLimit})
	if err != nil {
		e.t.Fatal(err)
	}
	return snapshot{clients: len(cs), users: n, regTokens: len(rts), audit: len(ev)}
}

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

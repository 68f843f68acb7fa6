package httpx_test

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/httpx"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/sqlite"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "cors.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

func createClient(t *testing.T, s storage.ClientStore, id string, origins ...string) {
	t.Helper()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	err := s.CreateClient(t.Context(), storage.Client{
		ID: id, Name: id, TokenEndpointAuthMethod: "none", Public: true,
		AllowedCORSOrigins: origins, CreatedAt: now, UpdatedAt: now,
	})
	if err != nil {
		t.Fatalf("CreateClient %s: %v", id, err)
	}
}

// corsEngine mounts token (per-client CORS) and userinfo (any-client CORS)
// the way internal/server is told to. The token handler echoes client_id
// to prove the body survived the middleware.
func corsEngine(t *testing.T, withLimitParams bool) *gin.Engine {
	t.Helper()
	s := openStore(t)
	createClient(t, s, "spa", "https://App.example.com/")
	createClient(t, s, "other", "https://other.example")
	createClient(t, s, "wild", "*", "null")
	lookup := httpx.NewStoreOrigins(s, time.Minute, nil)

	e := gin.New()
	clientCORS := httpx.CORS(lookup, httpx.CORSClient)
	tokenChain := []gin.HandlerFunc{httpx.BodyLimit(1 << 10)}
	if withLimitParams {
		tokenChain = append(tokenChain, httpx.LimitParams(httpx.DefaultParamLimits()))
	}
	tokenChain = append(tokenChain, clientCORS, func(c *gin.Context) {
		c.String(http.StatusOK, "client="+c.PostForm("client_id"))
	})
	e.POST("/oauth2/token", tokenChain...)
	httpx.Preflight(e, clientCORS, "/oauth2/token")

	anyCORS := httpx.CORS(lookup, httpx.CORSAnyClient)
	e.GET("/userinfo", anyCORS, ok)
	httpx.Preflight(e, anyCORS, "/userinfo")
	return e
}

func TestCORSActualRequests(t *testing.T) {
	basic := func(id string) string {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.SetBasicAuth(url.QueryEscape(id), "secret")
		return r.Header.Get("Authorization")
	}
	tests := []struct {
		name     string
		r        req
		wantACAO string
	}{
		{"registered origin of the client in the form", req{method: http.MethodPost, path: "/oauth2/token", body: "grant_type=x&client_id=spa", contentType: form,
			header: map[string]string{"Origin": "https://app.example.com"}}, "https://app.example.com"},
		{"registered origin of the client in Basic auth", req{method: http.MethodPost, path: "/oauth2/token", body: "grant_type=x", contentType: form,
			header: map[string]string{"Origin": "https://app.example.com", "Authorization": basic("spa")}}, "https://app.example.com"},
		{"another client's origin gets nothing", req{method: http.MethodPost, path: "/oauth2/token", body: "client_id=spa", contentType: form,
			header: map[string]string{"Origin": "https://other.example"}}, ""},
		{"unknown client gets nothing", req{method: http.MethodPost, path: "/oauth2/token", body: "client_id=nobody", contentType: form,
			header: map[string]string{"Origin": "https://app.example.com"}}, ""},
		{"no client id gets nothing", req{method: http.MethodPost, path: "/oauth2/token", body: "grant_type=x", contentType: form,
			header: map[string]string{"Origin": "https://app.example.com"}}, ""},
		{"a registered * allows no one", req{method: http.MethodPost, path: "/oauth2/token", body: "client_id=wild", contentType: form,
			header: map[string]string{"Origin": "https://evil.example"}}, ""},
		{"a registered null allows no sandboxed document", req{method: http.MethodPost, path: "/oauth2/token", body: "client_id=wild", contentType: form,
			header: map[string]string{"Origin": "null"}}, ""},
		{"no Origin header gets nothing", req{method: http.MethodPost, path: "/oauth2/token", body: "client_id=spa", contentType: form}, ""},
		{"userinfo: an origin some client registered", req{path: "/userinfo", header: map[string]string{"Origin": "https://other.example"}}, "https://other.example"},
		{"userinfo: an unregistered origin gets nothing", req{path: "/userinfo", header: map[string]string{"Origin": "https://evil.example"}}, ""},
	}
	for _, parsed := range []bool{false, true} {
		e := corsEngine(t, parsed)
		for _, tt := range tests {
			name := tt.name
			if parsed {
				name += " (form parsed by LimitParams first)"
			}
			t.Run(name, func(t *testing.T) {
				w := do(t, e, tt.r)
				if w.Code != http.StatusOK {
					t.Fatalf("status %d (%s)", w.Code, w.Body.String())
				}
				if got := w.Header().Get("Access-Control-Allow-Origin"); got != tt.wantACAO {
					t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.wantACAO)
				}
				if got := w.Header().Get("Access-Control-Allow-Credentials"); got != "" {
					t.Errorf("Access-Control-Allow-Credentials = %q, want none", got)
				}
				if tt.r.path == "/oauth2/token" {
					form, _ := url.ParseQuery(tt.r.body)
					if want := "client=" + form.Get("client_id"); w.Body.String() != want {
						t.Errorf("handler saw %q, want %q: the body must survive the CORS check", w.Body.String(), want)
					}
				}
				if tt.wantACAO != "" && w.Header().Get("Vary") == "" {
					t.Error("an allowed response must carry Vary: Origin")
				}
			})
		}
	}
}

func TestCORSPreflight(t *testing.T) {
	e := corsEngine(t, false)
	preflight := func(path, origin, method, headers string) req {
		h := map[string]string{"Origin": origin, "Access-Control-Request-Method": method}
		if headers != "" {
			h["Access-Control-Request-Headers"] = headers
		}
		return req{method: http.MethodOptions, path: path, header: h}
	}
	tests := []struct {
		name     string
		r        req
		wantACAO string
	}{
		{"token preflight from a registered origin", preflight("/oauth2/token", "https://app.example.com", "POST", "authorization,content-type"), "https://app.example.com"},
		{"userinfo preflight from a registered origin", preflight("/userinfo", "https://other.example", "GET", "authorization"), "https://other.example"},
		{"preflight from an unregistered origin", preflight("/oauth2/token", "https://evil.example", "POST", "content-type"), ""},
		{"preflight asking for a header we do not allow", preflight("/oauth2/token", "https://app.example.com", "POST", "x-custom"), ""},
		{"preflight asking for a method we do not allow", preflight("/oauth2/token", "https://app.example.com", "DELETE", ""), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(t, e, tt.r)
			if w.Code != http.StatusNoContent {
				t.Fatalf("status %d, want 204", w.Code)
			}
			if got := w.Header().Get("Access-Control-Allow-Origin"); got != tt.wantACAO {
				t.Fatalf("Access-Control-Allow-Origin = %q, want %q", got, tt.wantACAO)
			}
			if tt.wantACAO == "" {
				if got := w.Header().Get("Access-Control-Allow-Methods"); got != "" {
					t.Errorf("a refused preflight carries Access-Control-Allow-Methods %q", got)
				}
				return
			}
			if got := w.Header().Get("Access-Control-Allow-Methods"); got != tt.r.header["Access-Control-Request-Method"] {
				t.Errorf("Access-Control-Allow-Methods = %q", got)
			}
			if got := w.Header().Get("Access-Control-Allow-Headers"); got != tt.r.header["Access-Control-Request-Headers"] {
				t.Errorf("Access-Control-Allow-Headers = %q", got)
			}
			if got := w.Header().Get("Access-Control-Max-Age"); got != "600" {
				t.Errorf("Access-Control-Max-Age = %q, want 600", got)
			}
		})
	}
}

func TestStoreOriginsCache(t *testing.T) {
	s := openStore(t)
	createClient(t, s, "spa", "https://a.example")
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	lookup := httpx.NewStoreOrigins(s, time.Minute, clk.Now)
	ctx := t.Context()

	check := func(what string, wantClient []string, wantAnyB bool) {
		t.Helper()
		got, err := lookup.ClientOrigins(ctx, "spa")
		if err != nil {
			t.Fatalf("%s: ClientOrigins: %v", what, err)
		}
		if !slices.Equal(got, wantClient) {
			t.Errorf("%s: ClientOrigins = %q, want %q", what, got, wantClient)
		}
		anyB, err := lookup.AnyClientAllows(ctx, "https://B.example/")
		if err != nil {
			t.Fatalf("%s: AnyClientAllows: %v", what, err)
		}
		if anyB != wantAnyB {
			t.Errorf("%s: AnyClientAllows(b) = %v, want %v", what, anyB, wantAnyB)
		}
	}
	check("initially", []string{"https://a.example"}, false)

	c, err := s.GetClient(ctx, "spa")
	if err != nil {
		t.Fatalf("GetClient: %v", err)
	}
	c.AllowedCORSOrigins = append(c.AllowedCORSOrigins, "https://b.example")
	if err := s.UpdateClient(ctx, c); err != nil {
		t.Fatalf("UpdateClient: %v", err)
	}
	check("within the TTL the cache answers", []string{"https://a.example"}, false)
	clk.Advance(time.Minute)
	check("after the TTL the change is seen", []string{"https://a.example", "https://b.example"}, true)

	if got, err := lookup.ClientOrigins(ctx, "missing"); err != nil || len(got) != 0 {
		t.Errorf("unknown client: %q, %v; want none and no error", got, err)
	}
}

func TestCORSStoreDown(t *testing.T) {
	s := openStore(t)
	createClient(t, s, "spa", "https://app.example.com")
	lookup := httpx.NewStoreOrigins(s, time.Minute, nil)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := lookup.AnyClientAllows(t.Context(), "https://app.example.com"); err == nil {
		t.Fatal("AnyClientAllows on a closed store returned no error")
	}
	e := gin.New()
	e.GET("/userinfo", httpx.CORS(lookup, httpx.CORSAnyClient), ok)
	w := do(t, e, req{path: "/userinfo", header: map[string]string{"Origin": "https://app.example.com"}})
	if w.Code != http.StatusOK || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("with the store down: %d, ACAO %q; want the request through and no CORS grant",
			w.Code, w.Header().Get("Access-Control-Allow-Origin"))
	}
}

func TestNormalizeOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://App.Example.com/": "https://app.example.com",
		" http://localhost:3000 ":  "http://localhost:3000",
		"null":                     "",
		"*":                        "",
		"":                         "",
	} {
		if got := httpx.NormalizeOrigin(in); got != want {
			t.Errorf("NormalizeOrigin(%q) = %q, want %q", in, got, want)
		}
	}
}

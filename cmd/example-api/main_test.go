package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const audience = "https://hello.example.test"

// fakeSesame serves discovery, a one-key JWKS and introspection for one
// opaque token, as Sesame would.
type fakeSesame struct {
	srv    *httptest.Server
	key    *ecdsa.PrivateKey
	opaque string
}

func newFakeSesame(t *testing.T) *fakeSesame {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSesame{key: key, opaque: "opaque-token-for-bob"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{
			"issuer": f.srv.URL, "jwks_uri": f.srv.URL + "/jwks", "introspection_endpoint": f.srv.URL + "/introspect",
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	})
	mux.HandleFunc("POST /introspect", func(w http.ResponseWriter, r *http.Request) {
		if id, secret, ok := r.BasicAuth(); !ok || id != "hello-api" || secret != "s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		resp := map[string]any{"active": false}
		if r.PostFormValue("token") == f.opaque {
			resp = map[string]any{"active": true, "sub": "u-bob", "username": "bob", "scope": "api:read", "aud": []string{audience}, "exp": time.Now().Add(time.Hour).Unix()}
		}
		_ = json.NewEncoder(w).Encode(resp)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSesame) jwt(t *testing.T, extra map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: f.key},
		(&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{"iss": f.srv.URL, "sub": "u-alice", "aud": audience, "exp": time.Now().Add(time.Minute).Unix(), "client_id": "web"}
	for k, v := range extra {
		claims[k] = v
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func startAPI(t *testing.T, f *fakeSesame, extraArgs ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	args := append([]string{"--issuer", f.srv.URL, "--audience", audience, "--listen", "127.0.0.1:0"}, extraArgs...)
	go func() { done <- run(ctx, args, func(string) string { return "" }, io.Discard, ready) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case addr := <-ready:
		return "http://" + addr
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	return ""
}

func get(t *testing.T, url, token string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body)), resp.Header.Get("WWW-Authenticate")
}

func TestExampleAPI(t *testing.T) {
	f := newFakeSesame(t)
	base := startAPI(t, f, "--client-id", "hello-api", "--client-secret", "s3cret")
	alice := f.jwt(t, map[string]any{"preferred_username": "alice", "scope": "api:read"})
	admin := f.jwt(t, map[string]any{"preferred_username": "alice", "scope": "api:read api:admin"})
	noName := f.jwt(t, nil)

	tests := []struct {
		name, path, token string
		wantStatus        int
		wantBody          string // substring
		wantChallenge     string // substring
	}{
		{"JWT on /hello", "/hello", alice, 200, `{"message":"Hello, alice! You are authenticated."}`, ""},
		{"JWT without a username falls back to sub", "/hello", noName, 200, `Hello, u-alice!`, ""},
		{"opaque token on /hello is introspected", "/hello", f.opaque, 200, `Hello, bob!`, ""},
		{"JWT on /jwt/hello", "/jwt/hello", alice, 200, `Hello, alice!`, ""},
		{"opaque token on /jwt/hello", "/jwt/hello", f.opaque, 401, "", `error="invalid_token"`},
		{"opaque token on /introspect/hello", "/introspect/hello", f.opaque, 200, `Hello, bob!`, ""},
		{"unknown opaque token", "/introspect/hello", "nope", 401, "", `not active`},
		{"no token", "/hello", "", 401, "", `Bearer realm="example-api"`},
		{"admin without the scope", "/admin/hello", alice, 403, "", `scope="api:admin", resource_metadata="`},
		{"a 401 points at the RFC 9728 metadata", "/hello", "", 401, "", `resource_metadata="` + base + `/.well-known/oauth-protected-resource"`},
		{"admin with the scope", "/admin/hello", admin, 200, `Hello, alice!`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, chal := get(t, base+tc.path, tc.token)
			if status != tc.wantStatus {
				t.Fatalf("status = %d, want %d (body %s, challenge %q)", status, tc.wantStatus, body, chal)
			}
			if !strings.Contains(body, tc.wantBody) {
				t.Errorf("body = %s, want %s", body, tc.wantBody)
			}
			if !strings.Contains(chal, tc.wantChallenge) {
				t.Errorf("challenge = %q, want %q", chal, tc.wantChallenge)
			}
		})
	}
}

// TestProtectedResourceMetadata: the document a client finds through the
// challenge names the API and the issuer (RFC 9728).
func TestProtectedResourceMetadata(t *testing.T) {
	f := newFakeSesame(t)
	base := startAPI(t, f)
	_, _, chal := get(t, base+"/hello", "")
	_, u, ok := strings.Cut(chal, `resource_metadata="`)
	if !ok {
		t.Fatalf("no resource_metadata in %q", chal)
	}
	u = strings.TrimSuffix(u, `"`)
	status, body, _ := get(t, u, "")
	var doc struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
		Scopes               []string `json:"scopes_supported"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &doc) != nil {
		t.Fatalf("GET %s: %d %s", u, status, body)
	}
	if doc.Resource != audience || len(doc.AuthorizationServers) != 1 || doc.AuthorizationServers[0] != f.srv.URL || len(doc.Scopes) != 2 {
		t.Fatalf("metadata %s", body)
	}
}

func TestExampleAPIWithoutIntrospection(t *testing.T) {
	f := newFakeSesame(t)
	base := startAPI(t, f)
	if status, _, _ := get(t, base+"/introspect/hello", f.opaque); status != http.StatusNotFound {
		t.Errorf("/introspect/hello without credentials: %d, want 404", status)
	}
	if status, _, _ := get(t, base+"/hello", f.opaque); status != http.StatusUnauthorized {
		t.Errorf("opaque token on /hello without introspection: %d, want 401", status)
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{"audience required", []string{"--issuer", "http://x"}, nil, "--audience is required"},
		{"secret without id", []string{"--audience", "a", "--client-secret", "s"}, nil, "go together"},
		{"env supplies credentials", []string{"--audience", "a"}, map[string]string{"EXAMPLE_API_CLIENT_ID": "id", "EXAMPLE_API_CLIENT_SECRET": "s"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			if tc.wantErr == "" {
				if err != nil || o.clientID != "id" {
					t.Fatalf("parseFlags = %+v, %v", o, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

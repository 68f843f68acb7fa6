package rs

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/go-jose/go-jose/v4"
)

func TestProtectedResourceMetadataPath(t *testing.T) {
	for _, tc := range []struct{ resource, path, url string }{
		{"https://api.example.com", "/.well-known/oauth-protected-resource", "https://api.example.com/.well-known/oauth-protected-resource"},
		{"https://api.example.com/", "/.well-known/oauth-protected-resource", "https://api.example.com/.well-known/oauth-protected-resource"},
		{"https://api.example.com/mcp", "/.well-known/oauth-protected-resource/mcp", "https://api.example.com/.well-known/oauth-protected-resource/mcp"},
		{"http://127.0.0.1:9000/v1/tools", "/.well-known/oauth-protected-resource/v1/tools", "http://127.0.0.1:9000/.well-known/oauth-protected-resource/v1/tools"},
	} {
		m := ProtectedResource{Resource: tc.resource}
		if got := m.MetadataPath(); got != tc.path {
			t.Errorf("MetadataPath(%s) = %s, want %s", tc.resource, got, tc.path)
		}
		if got := m.MetadataURL(); got != tc.url {
			t.Errorf("MetadataURL(%s) = %s, want %s", tc.resource, got, tc.url)
		}
	}
}

func TestProtectedResourceValidate(t *testing.T) {
	as := []string{"https://sesame.example.com"}
	for name, m := range map[string]ProtectedResource{
		"plain http off loopback":  {Resource: "http://api.example.com", AuthorizationServers: as},
		"fragment":                 {Resource: "https://api.example.com/#x", AuthorizationServers: as},
		"query":                    {Resource: "https://api.example.com/?a=b", AuthorizationServers: as},
		"relative":                 {Resource: "/mcp", AuthorizationServers: as},
		"no authorization server":  {Resource: "https://api.example.com"},
		"bad authorization server": {Resource: "https://api.example.com", AuthorizationServers: []string{"sesame"}},
	} {
		if _, err := m.Handler(); err == nil {
			t.Errorf("%s: Handler accepted %+v", name, m)
		}
	}
}

func TestProtectedResourceDocumentAndChallenge(t *testing.T) {
	iss := newTestIssuer(t)
	auth := NewAuthenticator(newVerifier(t, iss, nil), nil)
	m := ProtectedResource{
		Resource: testAudience, AuthorizationServers: []string{iss.srv.URL}, ScopesSupported: []string{"api:read", "api:admin"},
		ResourceName: "Test API", Extra: map[string]any{"resource": "https://evil.example.com", "x_custom": true},
	}
	md := "https://api.example.com/.well-known/oauth-protected-resource"

	mux := http.NewServeMux()
	if err := m.Mount(mux); err != nil {
		t.Fatal(err)
	}
	mux.Handle("/admin", Middleware(auth, WithRealm("test"), WithResourceMetadata(md))(RequireScopes("api:admin")(echo)))
	gin.SetMode(gin.TestMode)
	g := gin.New()
	if err := m.MountGin(g); err != nil {
		t.Fatal(err)
	}
	g.GET("/admin", Gin(auth, WithRealm("test"), WithResourceMetadata(md)), GinRequireScopes("api:admin"), func(c *gin.Context) {})

	reader := iss.token(jose.ES256, nil)
	for name, h := range map[string]http.Handler{"net/http": mux, "gin": g} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			res, err := http.Get(srv.URL + m.MetadataPath())
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			var doc map[string]any
			if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") || json.Unmarshal(body, &doc) != nil {
				t.Fatalf("metadata: %d %s", res.StatusCode, body)
			}
			if doc["resource"] != m.Resource || doc["resource_name"] != "Test API" || doc["x_custom"] != true {
				t.Errorf("document %s (Extra must not override resource)", body)
			}
			if as, _ := doc["authorization_servers"].([]any); len(as) != 1 || as[0] != iss.srv.URL {
				t.Errorf("authorization_servers %v", doc["authorization_servers"])
			}
			if bm, _ := doc["bearer_methods_supported"].([]any); len(bm) != 1 || bm[0] != "header" {
				t.Errorf("bearer_methods_supported %v", doc["bearer_methods_supported"])
			}

			for _, tc := range []struct {
				name, authz, want string
				status            int
			}{
				{"no token", "", `Bearer realm="test", resource_metadata="` + md + `"`, 401},
				{"bad token", "Bearer " + noneToken(iss.claims()), `resource_metadata="` + md + `"`, 401},
				{"missing scope", "Bearer " + reader, `scope="api:admin", resource_metadata="` + md + `"`, 403},
			} {
				req, _ := http.NewRequest(http.MethodGet, srv.URL+"/admin", nil)
				if tc.authz != "" {
					req.Header.Set("Authorization", tc.authz)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				chal := res.Header.Get("WWW-Authenticate")
				if res.StatusCode != tc.status || !strings.HasSuffix(chal, tc.want) {
					t.Errorf("%s: %d %q, want %d ending %q", tc.name, res.StatusCode, chal, tc.status, tc.want)
				}
			}
		})
	}
}

package oauth

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/keys"
	"github.com/sesameauth/sesame/storage"
)

func TestKeyRotation(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, func(_ *Config, o *keys.Options) { o.RetainAfterRetire = time.Hour })
		ctx := context.Background()
		c, sec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}})
		old := e.clientCredentials(c.ID, sec, nil)
		mustToken(t, old)
		oldHdr, _ := e.verifyJWT(old.str("access_token"))

		info, err := e.keys.Rotate(ctx, keys.ES256)
		if err != nil {
			t.Fatal(err)
		}
		if info.KID == oldHdr.KeyID {
			t.Fatal("rotation kept the kid")
		}
		set := e.fetchJWKS()
		if len(set.Key(oldHdr.KeyID)) != 1 || len(set.Key(info.KID)) != 1 {
			t.Fatalf("JWKS after rotation lacks the old or the new key: %d keys", len(set.Keys))
		}
		next := e.clientCredentials(c.ID, sec, nil)
		mustToken(t, next)
		if h, _ := e.verifyJWT(next.str("access_token")); h.KeyID != info.KID {
			t.Fatalf("new token signed by %s, want the new key %s", h.KeyID, info.KID)
		}
		if !e.active(old.str("access_token"), c.ID, sec) {
			t.Fatal("a token signed by the retired key no longer introspects")
		}

		// Past RetainAfterRetire the old key leaves the JWKS and its
		// tokens stop verifying.
		e.clock.Advance(2 * time.Hour)
		if err := e.keys.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		set = e.fetchJWKS()
		if len(set.Key(oldHdr.KeyID)) != 0 || len(set.Key(info.KID)) != 1 {
			t.Fatalf("JWKS after retirement: %d keys", len(set.Keys))
		}
		if e.active(old.str("access_token"), c.ID, sec) {
			t.Fatal("a token of a removed key is still active")
		}
	})
}

func TestDiscoveryAndJWKS(t *testing.T) {
	e := newEnv(t, backends[0], withConfig(func(c *Config) {
		c.ExtraDiscovery = map[string]any{"authorization_endpoint": "https://x/oauth2/authorize", "issuer": "https://evil"}
	}))
	for _, p := range []string{PathOIDCDiscovery, PathASMetadata} {
		r := e.get(p)
		if r.status != http.StatusOK || r.header.Get("Cache-Control") == "" {
			t.Fatalf("%s: %d %v", p, r.status, r.header)
		}
		want := map[string]any{
			"issuer": e.srv.URL, "token_endpoint": e.srv.URL + PathToken, "introspection_endpoint": e.srv.URL + PathIntrospect,
			"revocation_endpoint": e.srv.URL + PathRevoke, "jwks_uri": e.srv.URL + PathJWKS,
			"authorization_endpoint": "https://x/oauth2/authorize", "authorization_response_iss_parameter_supported": true,
		}
		for k, v := range want {
			if r.body[k] != v {
				t.Errorf("%s: %s = %v, want %v", p, k, r.body[k], v)
			}
		}
		for k, v := range map[string]string{
			"code_challenge_methods_supported":      "S256",
			"token_endpoint_auth_methods_supported": "private_key_jwt",
			"grant_types_supported":                 "refresh_token",
			"scopes_supported":                      "offline_access",
			"id_token_signing_alg_values_supported": "ES256",
			"response_types_supported":              "code",
			"subject_types_supported":               "public",
		} {
			if !containsAny(r.body[k], v) {
				t.Errorf("%s: %s = %v lacks %s", p, k, r.body[k], v)
			}
		}
		if containsAny(r.body["code_challenge_methods_supported"], "plain") {
			t.Error("plain PKCE advertised")
		}
		// Exactly the response modes the authorization endpoint answers
		// (fragment belongs to the implicit flow, which is not offered).
		if got := fmt.Sprint(r.body["response_modes_supported"]); got != "[query form_post]" {
			t.Errorf("%s: response_modes_supported = %s, want [query form_post]", p, got)
		}
	}

	r := e.get(PathJWKS)
	etag := r.header.Get("ETag")
	if r.status != http.StatusOK || etag == "" || len(r.body["keys"].([]any)) != 1 {
		t.Fatalf("jwks: %d etag %q %s", r.status, etag, r.raw)
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+PathJWKS, nil)
	req.Header.Set("If-None-Match", etag)
	if r := e.do(req); r.status != http.StatusNotModified {
		t.Fatalf("conditional GET: %d", r.status)
	}
	req.Header.Set("If-None-Match", `"other"`)
	if r := e.do(req); r.status != http.StatusOK {
		t.Fatalf("conditional GET with another etag: %d", r.status)
	}
}

func containsAny(v any, want string) bool {
	list, _ := v.([]any)
	for _, x := range list {
		if x == want {
			return true
		}
	}
	return false
}

package app

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/sqlite"
)

// FuzzClientMetadata feeds arbitrary client metadata to ValidateClient and
// CreateClient (RFC 7591 §2 metadata, RFC 9700 §4.1.3 redirect URIs): no
// panic; an accepted client validates again unchanged (normalisation is
// idempotent); a rejected one writes nothing, neither a client nor an
// audit event.
func FuzzClientMetadata(f *testing.F) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(f.TempDir(), "sesame.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		f.Fatal(err)
	}
	ring, err := secret.New([]byte("0123456789abcdef0123456789abcdef-fuzz"))
	if err != nil {
		f.Fatal(err)
	}
	svc := New(st, ring, fastParams, nil)

	for _, s := range []struct {
		name, redirects, grants, scopes, method, origins, jwks string
		public                                                 bool
	}{
		{"web", "https://a.example.com/cb", "authorization_code refresh_token", "openid profile", "", "", "", false},
		{"spa", "http://127.0.0.1:8080/cb", "authorization_code", "openid", "none", "https://spa.example.com", "", true},
		{"native", "com.example.app:/cb", "authorization_code", "openid", "", "", "", true},
		{"frag", "https://a.example.com/cb#x", "authorization_code", "openid", "", "", "", false},
		{"wild", "https://*.example.com/cb", "implicit", "open id", "client_secret_jwt", "*", "", false},
		{"pk", "https://a.example.com/cb", "client_credentials", "api", "private_key_jwt", "", `{"keys":[{"kty":"oct","k":"AA"}]}`, false},
		{"", " ", ",", "\x00", "\n", "javascript:alert(1)", "{", false},
		{strings.Repeat("n", 300), "http://evil.example.com/cb,https://a.example.com/" + strings.Repeat("p", 2100), "password", "sesame:admin", "", "null", "[]", true},
	} {
		f.Add(s.name, s.redirects, s.grants, s.scopes, s.method, s.origins, s.jwks, s.public)
	}
	split := func(s, sep string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, sep)
	}
	f.Fuzz(func(t *testing.T, name, redirects, grants, scopes, method, origins, jwks string, public bool) {
		c := storage.Client{ID: "fuzz-client", Name: name, RedirectURIs: split(redirects, ","), GrantTypes: strings.Fields(grants),
			Scopes: strings.Fields(scopes), TokenEndpointAuthMethod: method, AllowedCORSOrigins: split(origins, ","),
			PostLogoutRedirectURIs: split(redirects, ","), JWKS: jwks, Public: public}
		if err := ValidateClient(&c); err == nil {
			again := c
			if err := ValidateClient(&again); err != nil {
				t.Fatalf("an accepted client fails validation once normalised: %v\n%+v", err, c)
			}
			if !reflect.DeepEqual(again, c) {
				t.Fatalf("normalisation is not idempotent:\n%+v\n%+v", c, again)
			}
		}

		clients, audits := countClients(t, st), countAudit(t, st)
		_, _, err := svc.CreateClient(ctx, "fuzz", ClientSpec{Name: name, RedirectURIs: split(redirects, ","),
			GrantTypes: strings.Fields(grants), Scopes: strings.Fields(scopes), TokenEndpointAuthMethod: method,
			AllowedCORSOrigins: split(origins, ","), JWKS: jwks, Public: public})
		if err == nil {
			return
		}
		if !IsValidation(err) {
			t.Fatalf("CreateClient failed with a non-validation error: %v", err)
		}
		if countClients(t, st) != clients || countAudit(t, st) != audits {
			t.Fatalf("a rejected client (%v) changed the store", err)
		}
	})
}

package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/sesameauth/sesame/storage"
)

func webApp() ClientSpec {
	return ClientSpec{
		Name:         "Web app",
		GrantTypes:   []string{"authorization_code", "refresh_token"},
		RedirectURIs: []string{"https://app.example.com/callback"},
		Scopes:       []string{"openid", "profile"},
	}
}

func jwksOf(t *testing.T, private bool) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var key any = &k.PublicKey
	if private {
		key = k
	}
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCreateClientRejectsBadPayloads(t *testing.T) {
	privateJWKS := jwksOf(t, true)
	tests := []struct {
		name   string
		change func(*ClientSpec)
		field  string
	}{
		{"unknown grant type", func(s *ClientSpec) { s.GrantTypes = []string{"authorization_code", "implicit"} }, "grant_types[1]"},
		{"unknown response type", func(s *ClientSpec) { s.ResponseTypes = []string{"code", "token"} }, "response_types[1]"},
		{"relative redirect URI", func(s *ClientSpec) { s.RedirectURIs = []string{"https://ok.example.com/cb", "foo"} }, "redirect_uris[1]"},
		{"redirect URI with fragment", func(s *ClientSpec) { s.RedirectURIs = []string{"https://app.example.com/cb#x"} }, "redirect_uris[0]"},
		{"wildcard redirect URI", func(s *ClientSpec) { s.RedirectURIs = []string{"https://*.example.com/cb"} }, "redirect_uris[0]"},
		{"plain http redirect URI", func(s *ClientSpec) { s.RedirectURIs = []string{"http://app.example.com/cb"} }, "redirect_uris[0]"},
		{"javascript redirect URI", func(s *ClientSpec) { s.RedirectURIs = []string{"javascript:alert(1)"} }, "redirect_uris[0]"},
		{"data redirect URI", func(s *ClientSpec) { s.RedirectURIs = []string{"data:text/html,hi"} }, "redirect_uris[0]"},
		{"file redirect URI", func(s *ClientSpec) { s.RedirectURIs = []string{"file:///etc/passwd"} }, "redirect_uris[0]"},
		{"private-use scheme for confidential client", func(s *ClientSpec) { s.RedirectURIs = []string{"com.example.app:/cb"} }, "redirect_uris[0]"},
		{"custom scheme not reverse DNS", func(s *ClientSpec) { s.Public = true; s.RedirectURIs = []string{"myapp:/cb"} }, "redirect_uris[0]"},
		{"empty redirect URI", func(s *ClientSpec) { s.RedirectURIs = []string{""} }, "redirect_uris[0]"},
		{"authorization_code without redirect URI", func(s *ClientSpec) { s.RedirectURIs = nil }, "redirect_uris"},
		{"code response without authorization_code", func(s *ClientSpec) {
			s.GrantTypes = []string{"client_credentials"}
			s.ResponseTypes = []string{"code"}
		}, "response_types"},
		{"refresh_token alone", func(s *ClientSpec) { s.GrantTypes = []string{"refresh_token"}; s.RedirectURIs = nil }, "grant_types"},
		{"public client with client_credentials", func(s *ClientSpec) {
			s.Public = true
			s.GrantTypes = []string{"authorization_code", "client_credentials"}
		}, "grant_types[1]"},
		{"public client with password grant", func(s *ClientSpec) { s.Public = true; s.GrantTypes = []string{"password"}; s.RedirectURIs = nil }, "grant_types[0]"},
		{"public client with secret auth", func(s *ClientSpec) { s.Public = true; s.TokenEndpointAuthMethod = "client_secret_basic" }, "token_endpoint_auth_method"},
		{"unknown auth method", func(s *ClientSpec) { s.TokenEndpointAuthMethod = "tls_client_auth" }, "token_endpoint_auth_method"},
		{"private_key_jwt without jwks", func(s *ClientSpec) { s.TokenEndpointAuthMethod = "private_key_jwt" }, "jwks"},
		{"jwks not JSON", func(s *ClientSpec) { s.TokenEndpointAuthMethod = "private_key_jwt"; s.JWKS = "{not json" }, "jwks"},
		{"jwks empty set", func(s *ClientSpec) { s.TokenEndpointAuthMethod = "private_key_jwt"; s.JWKS = `{"keys":[]}` }, "jwks"},
		{"jwks with private key", func(s *ClientSpec) { s.TokenEndpointAuthMethod = "private_key_jwt"; s.JWKS = privateJWKS }, "jwks.keys[0]"},
		{"jwks_uri unsupported", func(s *ClientSpec) { s.JWKSURI = "https://app.example.com/jwks" }, "jwks_uri"},
		{"unknown token format", func(s *ClientSpec) { s.AccessTokenFormat = "xml" }, "access_token_format"},
		{"scope with quote", func(s *ClientSpec) { s.Scopes = []string{"openid", `bad"scope`} }, "scope"},
		{"scope with backslash", func(s *ClientSpec) { s.Scopes = []string{`a\b`} }, "scope"},
		{"scope with non-ASCII", func(s *ClientSpec) { s.Scopes = []string{"prøfile"} }, "scope"},
		{"too many scopes", func(s *ClientSpec) {
			s.Scopes = nil
			for i := range MaxScopes + 1 {
				s.Scopes = append(s.Scopes, fmt.Sprintf("s%d", i))
			}
		}, "scope"},
		{"too many redirect URIs", func(s *ClientSpec) {
			s.RedirectURIs = nil
			for i := range MaxRedirectURIs + 1 {
				s.RedirectURIs = append(s.RedirectURIs, fmt.Sprintf("https://app.example.com/cb%d", i))
			}
		}, "redirect_uris"},
		{"CORS origin with path", func(s *ClientSpec) { s.AllowedCORSOrigins = []string{"https://app.example.com/path"} }, "allowed_cors_origins[0]"},
		{"CORS origin not a URL", func(s *ClientSpec) { s.AllowedCORSOrigins = []string{"app.example.com"} }, "allowed_cors_origins[0]"},
		{"audience with space", func(s *ClientSpec) { s.Audience = []string{"api one"} }, "audience[0]"},
		{"token exchange audience with space", func(s *ClientSpec) { s.TokenExchangeAudiences = []string{"ok", "api one"} }, "token_exchange_audiences[1]"},
		{"too many token exchange audiences", func(s *ClientSpec) {
			for i := range MaxAudiences + 1 {
				s.TokenExchangeAudiences = append(s.TokenExchangeAudiences, fmt.Sprintf("urn:a%d", i))
			}
		}, "token_exchange_audiences"},
		{"public client with token exchange", func(s *ClientSpec) {
			s.Public = true
			s.GrantTypes = []string{"authorization_code", TokenExchangeGrantType}
		}, "grant_types[1]"},
		{"post-logout URI relative", func(s *ClientSpec) { s.PostLogoutRedirectURIs = []string{"/bye"} }, "post_logout_redirect_uris[0]"},
		{"logo URI not http", func(s *ClientSpec) { s.LogoURI = "ftp://x/logo.png" }, "logo_uri"},
		{"bad id token alg", func(s *ClientSpec) { s.IDTokenSignedResponseAlg = "HS256" }, "id_token_signed_response_alg"},
		{"bad client id", func(s *ClientSpec) { s.ID = "has space" }, "client_id"},
		{"name with control character", func(s *ClientSpec) { s.Name = "evil\x1b[31m" }, "client_name"},
		{"metadata not an object", func(s *ClientSpec) { s.Metadata = "[1,2]" }, "metadata"},
	}
	forEachStore(t, func(t *testing.T, st storage.Store) {
		svc := newService(t, st)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				spec := webApp()
				tt.change(&spec)
				_, sec, err := svc.CreateClient(context.Background(), "test", spec)
				var ve *ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("want *ValidationError, got %v", err)
				}
				if ve.Field != tt.field {
					t.Fatalf("field = %q, want %q (error: %v)", ve.Field, tt.field, err)
				}
				if !strings.HasPrefix(err.Error(), tt.field) {
					t.Fatalf("message %q should start with the field", err)
				}
				if sec != "" {
					t.Fatal("no secret may be returned on failure")
				}
				if n := countClients(t, st); n != 0 {
					t.Fatalf("%d clients written", n)
				}
				if n := countAudit(t, st); n != 0 {
					t.Fatalf("%d audit events written", n)
				}
			})
		}
	})
}

func TestValidationMessageFormat(t *testing.T) {
	spec := webApp()
	spec.RedirectURIs = []string{"https://ok.example.com/cb", "foo"}
	c := storage.Client{}
	spec.apply(&c)
	err := ValidateClient(&c)
	if err == nil || err.Error() != `redirect_uris[1] "foo": must be an absolute URI` {
		t.Fatalf("message = %v", err)
	}
}

func TestCreateClientAcceptsGoodPayloads(t *testing.T) {
	publicJWKS := jwksOf(t, false)
	tests := []struct {
		name   string
		spec   ClientSpec
		public bool
		method string
	}{
		{"confidential web app gets basic auth", webApp(), false, "client_secret_basic"},
		{"native app with private-use scheme and loopback", ClientSpec{
			Public: true, RedirectURIs: []string{"com.example.app:/oauth2redirect", "http://127.0.0.1:53123/cb", "http://[::1]/cb", "http://localhost:9000/cb"},
			GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid", "offline_access"},
		}, true, "none"},
		{"auth method none makes a public client", ClientSpec{
			TokenEndpointAuthMethod: "none", RedirectURIs: []string{"https://spa.example.com/cb"},
		}, true, "none"},
		{"service with client_credentials", ClientSpec{
			GrantTypes: []string{"client_credentials"}, Scopes: []string{"sesame:admin"}, TokenEndpointAuthMethod: "client_secret_post",
		}, false, "client_secret_post"},
		{"service with token exchange", ClientSpec{
			GrantTypes: []string{TokenExchangeGrantType}, TokenExchangeAudiences: []string{"https://api.example.com", "urn:backend"},
		}, false, "client_secret_basic"},
		{"private_key_jwt with public JWKS", ClientSpec{
			GrantTypes: []string{"client_credentials"}, TokenEndpointAuthMethod: "private_key_jwt", JWKS: publicJWKS,
		}, false, "private_key_jwt"},
	}
	forEachStore(t, func(t *testing.T, st storage.Store) {
		svc := newService(t, st)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c, sec, err := svc.CreateClient(context.Background(), "test", tt.spec)
				if err != nil {
					t.Fatal(err)
				}
				if c.Public != tt.public || c.TokenEndpointAuthMethod != tt.method {
					t.Fatalf("public=%v method=%q, want %v %q", c.Public, c.TokenEndpointAuthMethod, tt.public, tt.method)
				}
				// Issue 13 item 17: only a client that authenticates with a
				// secret gets one (not public, not private_key_jwt).
				if wantSecret := !tt.public && tt.method != "private_key_jwt"; wantSecret != (sec != "") || wantSecret != (c.SecretHash != "") {
					t.Fatalf("public=%v method=%s but secret %q hash %q", tt.public, tt.method, sec, c.SecretHash)
				}
				if len(c.ID) != 22 {
					t.Fatalf("generated id %q should be 22 characters", c.ID)
				}
				got, err := svc.GetClient(context.Background(), c.ID)
				if err != nil {
					t.Fatal(err)
				}
				if sec != "" {
					if got.SecretHash == "" || strings.Contains(got.SecretHash, sec) {
						t.Fatal("secret must be stored hashed")
					}
					if !svc.VerifyClientSecret(got, sec) || svc.VerifyClientSecret(got, sec+"x") {
						t.Fatal("VerifyClientSecret wrong")
					}
				}
			})
		}
	})
}

func TestClientLifecycle(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		svc := newService(t, st)
		spec := webApp()
		spec.ID = "web"
		c, sec1, err := svc.CreateClient(ctx, "cli", spec)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.CreateClient(ctx, "cli", spec); !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("duplicate id: %v", err)
		}

		// Partial update keeps what is not named.
		scopes := []string{"openid", "email"}
		c, sec, err := svc.UpdateClient(ctx, "cli", "web", ClientPatch{Scopes: &scopes})
		if err != nil || sec != "" {
			t.Fatalf("update: %v, secret %q", err, sec)
		}
		if strings.Join(c.Scopes, " ") != "openid email" || c.Name != "Web app" || len(c.RedirectURIs) != 1 {
			t.Fatalf("after patch: %+v", c)
		}
		bad := []string{"nope"}
		if _, _, err := svc.UpdateClient(ctx, "cli", "web", ClientPatch{RedirectURIs: &bad}); !IsValidation(err) {
			t.Fatalf("invalid patch: %v", err)
		}
		if got, _ := svc.GetClient(ctx, "web"); got.RedirectURIs[0] != "https://app.example.com/callback" {
			t.Fatal("invalid patch was written")
		}

		// Rotation keeping the old secret, then dropping it.
		c, sec2, err := svc.RotateClientSecret(ctx, "cli", "web", true)
		if err != nil {
			t.Fatal(err)
		}
		if !svc.VerifyClientSecret(c, sec1) || !svc.VerifyClientSecret(c, sec2) {
			t.Fatal("both secrets should verify after a keep-old rotation")
		}
		c, sec3, err := svc.RotateClientSecret(ctx, "cli", "web", false)
		if err != nil {
			t.Fatal(err)
		}
		if !svc.VerifyClientSecret(c, sec3) || svc.VerifyClientSecret(c, sec2) && svc.VerifyClientSecret(c, sec1) {
			t.Fatal("rotation without keep-old must drop the previous secret")
		}

		// Public ↔ confidential.
		pub := true
		c, sec, err = svc.UpdateClient(ctx, "cli", "web", ClientPatch{Public: &pub})
		if err != nil || !c.Public || c.SecretHash != "" || c.TokenEndpointAuthMethod != "none" || sec != "" {
			t.Fatalf("to public: %v %+v", err, c)
		}
		if _, _, err := svc.RotateClientSecret(ctx, "cli", "web", false); !IsValidation(err) {
			t.Fatalf("rotating a public client: %v", err)
		}
		conf := false
		c, sec, err = svc.UpdateClient(ctx, "cli", "web", ClientPatch{Public: &conf})
		if err != nil || sec == "" || !svc.VerifyClientSecret(c, sec) || c.TokenEndpointAuthMethod != "client_secret_basic" {
			t.Fatalf("to confidential: %v %q %+v", err, sec, c)
		}

		if err := svc.DeleteClient(ctx, "cli", "web"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.GetClient(ctx, "web"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
		if err := svc.DeleteClient(ctx, "cli", "web"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		events, _, err := svc.ListAudit(ctx, storage.AuditFilter{ClientID: "web", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, e := range events {
			types = append(types, e.Type)
			if e.Actor != "cli" || e.Outcome != "success" {
				t.Errorf("event %+v", e)
			}
		}
		want := "client.deleted client.updated client.updated client.secret_rotated client.secret_rotated client.updated client.created"
		if strings.Join(types, " ") != want {
			t.Fatalf("audit trail (newest first):\n got %s\nwant %s", strings.Join(types, " "), want)
		}
	})
}

func TestClientViewJSON(t *testing.T) {
	v := NewClientView(storage.Client{ID: "x", Scopes: []string{"openid", "profile"}, TermsURI: "https://t"}, "")
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"client_id":"x"`, `"scope":"openid profile"`, `"redirect_uris":[]`, `"tos_uri":"https://t"`} {
		if !strings.Contains(s, want) {
			t.Errorf("%s missing %s", s, want)
		}
	}
	if strings.Contains(s, "client_secret") {
		t.Errorf("empty secret must be omitted: %s", s)
	}
}

// consentDeleteFails is a store whose DeleteConsentsByClient fails after
// the grants were revoked in the same transaction.
type consentDeleteFails struct{ storage.Store }

var errConsentDelete = errors.New("test: consent delete failed")

func (consentDeleteFails) DeleteConsentsByClient(context.Context, string) (int, error) {
	return 0, errConsentDelete
}

func TestDeleteClientForgetsConsentsAndRevokes(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		svc := newService(t, st)
		for _, id := range []string{"web", "other"} {
			spec := webApp()
			spec.ID = id
			if _, _, err := svc.CreateClient(ctx, "cli", spec); err != nil {
				t.Fatal(err)
			}
		}
		alice, _ := svc.CreateUser(ctx, "cli", NewUser{Username: "alice", Password: "pw-long-enough"})
		bob, _ := svc.CreateUser(ctx, "cli", NewUser{Username: "bob", Password: "pw-long-enough"})
		for _, c := range []struct{ user, client string }{{alice.ID, "web"}, {bob.ID, "web"}, {alice.ID, "other"}} {
			if err := st.UpsertConsent(ctx, storage.Consent{
				UserID: c.user, ClientID: c.client, Scopes: []string{"openid"}, CreatedAt: testNow, UpdatedAt: testNow,
			}); err != nil {
				t.Fatal(err)
			}
		}
		seedGrant(t, st, "req-alice-web", "web", alice.ID)
		seedGrant(t, st, "req-bob-web", "web", bob.ID)
		seedGrant(t, st, "req-alice-other", "other", alice.ID)

		hasConsent := func(userID, clientID string) bool {
			t.Helper()
			_, err := st.GetConsent(ctx, userID, clientID)
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				t.Fatal(err)
			}
			return err == nil
		}
		deletedEvents := func() []storage.AuditEvent {
			t.Helper()
			events, _, err := svc.ListAudit(ctx, storage.AuditFilter{ClientID: "web", Type: "client.deleted", Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			return events
		}

		t.Run("a failed consent delete rolls everything back", func(t *testing.T) {
			broken := newService(t, consentDeleteFails{st})
			if err := broken.DeleteClient(ctx, "cli", "web"); !errors.Is(err, errConsentDelete) {
				t.Fatalf("DeleteClient with a failing consent delete: %v, want %v", err, errConsentDelete)
			}
			if _, err := svc.GetClient(ctx, "web"); err != nil {
				t.Fatalf("client gone after a rolled-back delete: %v", err)
			}
			assertRevoked(t, st, "req-alice-web", false)
			assertRevoked(t, st, "req-bob-web", false)
			if at, err := st.ClientTokensRevokedAt(ctx, "web"); err != nil || !at.IsZero() {
				t.Fatalf("client revocation instant after a rolled-back delete: %v, %v", at, err)
			}
			if !hasConsent(alice.ID, "web") || !hasConsent(bob.ID, "web") {
				t.Fatal("consents gone after a rolled-back delete")
			}
			if ev := deletedEvents(); len(ev) != 0 {
				t.Fatalf("client.deleted audited for a rolled-back delete: %+v", ev)
			}
		})

		if err := svc.DeleteClient(ctx, "cli", "web"); err != nil {
			t.Fatal(err)
		}
		if hasConsent(alice.ID, "web") || hasConsent(bob.ID, "web") {
			t.Error("a user's consent to the deleted client survived")
		}
		if !hasConsent(alice.ID, "other") {
			t.Error("the consent to another client was deleted with it")
		}
		assertRevoked(t, st, "req-alice-web", true)
		assertRevoked(t, st, "req-bob-web", true)
		assertRevoked(t, st, "req-alice-other", false)
		// Grantless client_credentials tokens are cut off by this instant.
		if at, err := st.ClientTokensRevokedAt(ctx, "web"); err != nil || !at.Equal(testNow) {
			t.Errorf("client revocation instant %v (%v), want %v", at, err, testNow)
		}
		ev := deletedEvents()
		if len(ev) != 1 || ev[0].Details["grants_revoked"] != "2" || ev[0].Details["consents_deleted"] != "2" {
			t.Fatalf("client.deleted audit: %+v, want one with grants_revoked=2 consents_deleted=2", ev)
		}

		// A new client under the old id starts without anyone's consent.
		spec := webApp()
		spec.ID = "web"
		if _, _, err := svc.CreateClient(ctx, "cli", spec); err != nil {
			t.Fatal(err)
		}
		if hasConsent(alice.ID, "web") || hasConsent(bob.ID, "web") {
			t.Error("a client re-using a deleted id inherited its consents")
		}
	})
}

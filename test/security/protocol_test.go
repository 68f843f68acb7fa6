package security

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/config"
)

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// clientAssertion signs an RFC 7523 client assertion for id with aud.
func clientAssertion(t *testing.T, key *ecdsa.PrivateKey, id, aud string) string {
	t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	out, err := josejwt.Signed(sig).Claims(josejwt.Claims{Issuer: id, Subject: id, Audience: josejwt.Audience{aud},
		ID: random(t), IssuedAt: josejwt.NewNumericDate(now.Add(-5 * time.Second)), Expiry: josejwt.NewNumericDate(now.Add(time.Minute))}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func ecJWKS(t *testing.T) (*ecdsa.PrivateKey, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	return key, string(b)
}

// TestProtocolConformance (issue 13 items 9–17): the RFC MUSTs real client
// libraries hit, each reproduced over HTTP against a running server on
// SQLite and on Postgres.
func TestProtocolConformance(t *testing.T) {
	backends(t, func(c *config.Config) { c.OpenRegistration = true }, func(t *testing.T, s *srv) {
		const pw = "correct horse battery"
		s.user("alice", pw)
		svc, svcSec := s.client(app.ClientSpec{Name: "svc", GrantTypes: []string{"client_credentials"}, Scopes: []string{"api:read", "sesame:introspect"}})
		other, otherSec := s.client(app.ClientSpec{Name: "other", GrantTypes: []string{"client_credentials"}, Scopes: []string{"api:read"}})
		web, webSec := s.webClient("web", true)
		pub, _ := s.client(app.ClientSpec{Name: "spa", Public: true, RedirectURIs: []string{"https://spa.example.com/cb"},
			GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid", "offline_access"}, SkipConsent: true})

		// 9: RFC 6749 §5.2 — a 401 for a client that tried Basic MUST
		// carry WWW-Authenticate matching the scheme.
		t.Run("9 WWW-Authenticate Basic on 401", func(t *testing.T) {
			s := s.with(t)
			for _, path := range []string{"/oauth2/token", "/oauth2/introspect", "/oauth2/revoke"} {
				f := url.Values{"grant_type": {"client_credentials"}, "token": {"x"}}
				r := s.post(path, f, svc.ID, "wrong-secret")
				if r.status != http.StatusUnauthorized || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic") {
					t.Errorf("%s: %d WWW-Authenticate=%q, want 401 with Basic", path, r.status, r.header.Get("WWW-Authenticate"))
				}
			}
		})

		// 10: the body names another client than Basic; two methods at once.
		t.Run("10 conflicting client authentication", func(t *testing.T) {
			s := s.with(t)
			key, _ := ecJWKS(t)
			for name, f := range map[string]url.Values{
				"body client_id differs from Basic": {"grant_type": {"client_credentials"}, "client_id": {other.ID}},
				"Basic and client_secret in body":   {"grant_type": {"client_credentials"}, "client_secret": {otherSec}},
				"Basic and client_assertion": {"grant_type": {"client_credentials"}, "client_assertion_type": {assertionType},
					"client_assertion": {clientAssertion(t, key, svc.ID, s.issuer+"/oauth2/token")}},
			} {
				wantError(t, s.post("/oauth2/token", f, svc.ID, svcSec), http.StatusBadRequest, "invalid_request")
				_ = name
			}
			// The same client id in both places is fine (RFC 6749 §2.3.1 allows it).
			wantTokens(t, s.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {svc.ID}}, svc.ID, svcSec))
		})

		// 11: a grant the client may not use is unauthorized_client, even
		// with a scope it could not have either.
		t.Run("11 unauthorized_client before scopes", func(t *testing.T) {
			s := s.with(t)
			wantError(t, s.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {pub.ID}, "scope": {"api:write"}}, "", ""),
				http.StatusBadRequest, "unauthorized_client")
			wantError(t, s.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"not-a-scope"}}, web.ID, webSec),
				http.StatusBadRequest, "unauthorized_client")
			wantError(t, s.passwordGrant(svc.ID, svcSec, "alice", pw, "nope"), http.StatusBadRequest, "unauthorized_client")
		})

		// 12: RFC 6749 §6 — a narrower scope on refresh, then the original.
		t.Run("12 refresh narrows then restores scope", func(t *testing.T) {
			s := s.with(t)
			full := "openid offline_access api:read api:write"
			a := newAuthz(t, web, full)
			tok := s.exchange(a, s.code(a, "alice", pw), web.ID, webSec)
			wantTokens(t, tok)
			r := s.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.str("refresh_token")}, "scope": {"api:read"}}, web.ID, webSec)
			wantTokens(t, r)
			if r.str("scope") != "api:read" {
				t.Fatalf("narrowed refresh: scope %q, want exactly api:read", r.str("scope"))
			}
			in := s.introspect(r.str("access_token"), svc.ID, svcSec)
			if in.str("scope") != "api:read" {
				t.Fatalf("introspected scope %q, want api:read", in.str("scope"))
			}
			r2 := s.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.str("refresh_token")}}, web.ID, webSec)
			wantTokens(t, r2)
			got := strings.Fields(r2.str("scope"))
			slices.Sort(got)
			want := strings.Fields(full)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("refresh without scope: %q, want the original grant %q", r2.str("scope"), full)
			}
			// Widening beyond the grant stays refused.
			wantError(t, s.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r2.str("refresh_token")}, "scope": {"profile"}}, web.ID, webSec),
				http.StatusBadRequest, "invalid_scope")
		})

		// 13: state is optional and any length; nonce any length.
		t.Run("13 short or missing state and nonce", func(t *testing.T) {
			s := s.with(t)
			for _, tc := range []struct{ state, nonce string }{{"x", "n"}, {"", ""}, {"", "ab"}} {
				a := newAuthz(t, web, "openid")
				a.state, a.nonce = tc.state, tc.nonce
				b := s.browser()
				u := location(t, b.follow(b.login(a, "alice", pw)))
				if q := u.Query(); q.Get("code") == "" || q.Get("state") != tc.state || (tc.state == "" && q.Has("state")) {
					t.Fatalf("state=%q nonce=%q: authorization response %s", tc.state, tc.nonce, u)
				}
				tok := s.exchange(a, u.Query().Get("code"), web.ID, webSec)
				wantTokens(t, tok)
				_, claims := parts(t, tok.str("id_token"))
				if n, _ := claims["nonce"].(string); n != tc.nonce {
					t.Fatalf("state=%q nonce=%q: id_token nonce %q", tc.state, tc.nonce, n)
				}
			}
		})

		// 14: openid-client sends aud = issuer.
		t.Run("14 private_key_jwt with aud issuer", func(t *testing.T) {
			s := s.with(t)
			key, jwks := ecJWKS(t)
			c, sec := s.client(app.ClientSpec{Name: "pkjwt", GrantTypes: []string{"client_credentials"}, Scopes: []string{"api:read"},
				TokenEndpointAuthMethod: "private_key_jwt", JWKS: jwks})
			if sec != "" {
				t.Errorf("private_key_jwt client got a secret")
			}
			for _, aud := range []string{s.issuer, s.issuer + "/oauth2/token"} {
				wantTokens(t, s.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ID},
					"client_assertion_type": {assertionType}, "client_assertion": {clientAssertion(t, key, c.ID, aud)}}, "", ""))
			}
			wantError(t, s.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ID},
				"client_assertion_type": {assertionType}, "client_assertion": {clientAssertion(t, key, c.ID, "https://elsewhere.example.com")}}, "", ""),
				http.StatusUnauthorized, "invalid_client")
		})

		// 15: RP-Initiated Logout §2 — POST with the GET parameters.
		t.Run("15 logout by POST", func(t *testing.T) {
			s := s.with(t)
			rp, rpsec := s.client(app.ClientSpec{Name: "rp", RedirectURIs: []string{"https://rp.example.com/cb"},
				PostLogoutRedirectURIs: []string{"https://rp.example.com/bye"}, GrantTypes: []string{"authorization_code"},
				Scopes: []string{"openid"}, SkipConsent: true})
			b := s.browser()
			a := newAuthz(t, rp, "openid")
			tok := s.exchange(a, b.code(a, "alice", pw), rp.ID, rpsec)
			wantTokens(t, tok)
			r := b.post("/oauth2/logout", url.Values{"id_token_hint": {tok.str("id_token")},
				"post_logout_redirect_uri": {"https://rp.example.com/bye"}, "state": {"s1"}})
			if u := location(t, r); u.Host != "rp.example.com" || u.Path != "/bye" || u.Query().Get("state") != "s1" {
				t.Fatalf("redirected to %s", u)
			}
			// The session is gone: authorize asks for a login again.
			if u := location(t, b.get(newAuthz(t, rp, "openid").path())); u.Path != "/login" {
				t.Fatalf("after logout authorize went to %s, want /login", u)
			}
			// Without a session and without a hint: the signed-out page.
			r = s.post("/oauth2/logout", url.Values{"client_id": {rp.ID}}, "", "")
			if r.status != http.StatusOK || !strings.Contains(strings.ToLower(string(r.body)), "signed out") {
				t.Fatalf("POST logout without session: %d %.200s", r.status, r.body)
			}
		})

		// 16: RFC 8414 §2 — *_auth_signing_alg_values_supported is
		// REQUIRED wherever private_key_jwt is offered.
		t.Run("16 discovery signing algs", func(t *testing.T) {
			s := s.with(t)
			for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
				d := s.get(path)
				for _, ep := range []string{"token", "revocation", "introspection"} {
					methods, _ := d.json[ep+"_endpoint_auth_methods_supported"].([]any)
					if !slices.Contains(methods, any("private_key_jwt")) {
						continue
					}
					algs, _ := d.json[ep+"_endpoint_auth_signing_alg_values_supported"].([]any)
					if len(algs) == 0 || slices.Contains(algs, any("none")) {
						t.Errorf("%s: %s_endpoint_auth_signing_alg_values_supported = %v", path, ep, algs)
					}
				}
			}
		})

		// 17: no secret for a client that cannot use one.
		t.Run("17 no secret for private_key_jwt or none", func(t *testing.T) {
			s := s.with(t)
			_, jwks := ecJWKS(t)
			adm, admSec := s.client(app.ClientSpec{Name: "admin", GrantTypes: []string{"client_credentials"}, Scopes: []string{"sesame:admin"}})
			at := s.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"sesame:admin"}}, adm.ID, admSec)
			wantTokens(t, at)
			send := func(path, bearer string, body map[string]any) resp {
				b, _ := json.Marshal(body)
				req, _ := http.NewRequest(http.MethodPost, s.issuer+path, bytes.NewReader(b))
				req.Header.Set("Content-Type", "application/json")
				if bearer != "" {
					req.Header.Set("Authorization", "Bearer "+bearer)
				}
				return s.do(req)
			}
			for _, method := range []string{"private_key_jwt", "none"} {
				body := map[string]any{"client_name": "m-" + method, "redirect_uris": []string{"https://m.example.com/cb"},
					"grant_types": []string{"authorization_code"}, "token_endpoint_auth_method": method}
				if method == "private_key_jwt" {
					body["jwks"] = json.RawMessage(jwks)
				}
				for _, path := range []string{"/admin/clients", "/oauth2/register"} {
					bearer := ""
					if path == "/admin/clients" {
						bearer = at.str("access_token")
					}
					r := send(path, bearer, body)
					if r.status != http.StatusCreated {
						t.Fatalf("%s %s: %d %s", path, method, r.status, r.body)
					}
					if _, has := r.json["client_secret"]; has {
						t.Errorf("%s %s: answer carries a client_secret: %s", path, method, r.body)
					}
				}
				spec := app.ClientSpec{Name: "app-" + method, RedirectURIs: []string{"https://m.example.com/cb"},
					GrantTypes: []string{"authorization_code"}, TokenEndpointAuthMethod: method}
				if method == "private_key_jwt" {
					spec.JWKS = jwks
				}
				if c, sec := s.client(spec); sec != "" || c.SecretHash != "" {
					t.Errorf("app.CreateClient (the CLI's path) %s: secret %q hash %q", method, sec, c.SecretHash)
				}
			}
		})
	})
}

package oauth

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/sesameauth/sesame/storage"
)

func TestIntrospection(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		owner, ownerSec, cfg := e.codeClient(func(c *storage.Client) { c.Audience = []string{"https://api.example"} })
		tok := e.codeTokens(cfg, "offline_access api")
		opaqueClient, opaqueSec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}, AccessTokenFormat: FormatOpaque})
		opaque := e.clientCredentials(opaqueClient.ID, opaqueSec, nil)
		mustToken(t, opaque)
		stranger, strangerSec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}})
		rs, rsSec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}, Scopes: []string{ScopeIntrospect}})
		postCaller, postSec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}, Scopes: []string{ScopeIntrospect}, TokenEndpointAuthMethod: "client_secret_post"})

		t.Run("each token kind, by its owner", func(t *testing.T) {
			tests := []struct {
				name, token, id, sec, tokenType, clientID string
			}{
				{"JWT access token", tok.AccessToken, owner.ID, ownerSec, "Bearer", owner.ID},
				{"refresh token", tok.RefreshToken, owner.ID, ownerSec, "refresh_token", owner.ID},
				{"opaque access token", opaque.str("access_token"), opaqueClient.ID, opaqueSec, "Bearer", opaqueClient.ID},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					r := e.introspect(tt.token, tt.id, tt.sec)
					if r.body["active"] != true || r.str("token_type") != tt.tokenType || r.str("client_id") != tt.clientID || r.str("iss") != e.srv.URL {
						t.Fatalf("introspection: %s", r.raw)
					}
					for _, k := range []string{"exp", "iat", "sub", "aud"} {
						if r.body[k] == nil {
							t.Fatalf("field %s missing: %s", k, r.raw)
						}
					}
					if r.header.Get("Cache-Control") != "no-store" {
						t.Fatalf("introspection response is cacheable: %v", r.header)
					}
				})
			}
			r := e.introspect(tok.AccessToken, owner.ID, ownerSec)
			if aud, _ := r.body["aud"].([]any); len(aud) != 1 || aud[0] != "https://api.example" {
				t.Fatalf("aud %v", r.body["aud"])
			}
		})

		t.Run("policy", func(t *testing.T) {
			if e.active(tok.AccessToken, stranger.ID, strangerSec) {
				t.Fatal("a client without sesame:introspect sees another client's token")
			}
			if e.active(tok.RefreshToken, stranger.ID, strangerSec) {
				t.Fatal("a client without sesame:introspect sees another client's refresh token")
			}
			if !e.active(tok.AccessToken, rs.ID, rsSec) {
				t.Fatal("a resource server with sesame:introspect cannot introspect")
			}
			r := e.post(PathIntrospect, url.Values{"token": {tok.AccessToken}, "client_id": {postCaller.ID}, "client_secret": {postSec}}, "", "")
			if r.status != http.StatusOK || r.body["active"] != true {
				t.Fatalf("client_secret_post caller: %d %s", r.status, r.raw)
			}
		})

		t.Run("caller authentication", func(t *testing.T) {
			tests := []struct {
				name     string
				form     url.Values
				id, pass string
				status   int
				code     string
			}{
				{"no credentials", url.Values{"token": {tok.AccessToken}}, "", "", http.StatusBadRequest, "invalid_request"},
				{"wrong secret", url.Values{"token": {tok.AccessToken}}, rs.ID, "nope", http.StatusUnauthorized, "invalid_client"},
				{"unknown client", url.Values{"token": {tok.AccessToken}}, "nobody", "x", http.StatusUnauthorized, "invalid_client"},
				{"missing token", url.Values{"scope": {"x"}}, rs.ID, rsSec, http.StatusBadRequest, "invalid_request"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					r := e.post(PathIntrospect, tt.form, tt.id, tt.pass)
					if r.status != tt.status || r.str("error") != tt.code || r.body["active"] == true {
						t.Fatalf("got %d %s", r.status, r.raw)
					}
				})
			}
		})

		t.Run("unknown and garbage tokens are inactive", func(t *testing.T) {
			for _, tkn := range []string{"nope", "a.b.c", prefixAccessToken + "abc.def", prefixRefreshToken + "abc.def", tok.AccessToken + "x"} {
				if e.active(tkn, owner.ID, ownerSec) {
					t.Fatalf("%q is active", tkn)
				}
			}
		})
	})
}

func TestRevocation(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		c, sec, cfg := e.codeClient(nil)
		ctx := context.Background()
		revoke := func(token, hint, id, s string) response {
			t.Helper()
			form := url.Values{"token": {token}}
			if hint != "" {
				form.Set("token_type_hint", hint)
			}
			return e.post(PathRevoke, form, id, s)
		}

		t.Run("refresh token revokes its access tokens", func(t *testing.T) {
			tok := e.codeTokens(cfg, "offline_access api")
			if r := revoke(tok.RefreshToken, "refresh_token", c.ID, sec); r.status != http.StatusOK {
				t.Fatalf("revoke: %d %s", r.status, r.raw)
			}
			if e.active(tok.RefreshToken, c.ID, sec) || e.active(tok.AccessToken, c.ID, sec) {
				t.Fatal("tokens active after refresh token revocation")
			}
			mustError(t, e.refresh(c.ID, sec, tok.RefreshToken), "invalid_grant")
		})

		t.Run("JWT access token goes on the denylist", func(t *testing.T) {
			tok := e.codeTokens(cfg, "offline_access api")
			_, claims := e.verifyJWT(tok.AccessToken)
			if r := revoke(tok.AccessToken, "", c.ID, sec); r.status != http.StatusOK {
				t.Fatalf("revoke: %d %s", r.status, r.raw)
			}
			denied, err := e.store.NonceExists(ctx, storage.NonceJWTDenylist, claims["jti"].(string), e.clock.Now())
			if err != nil || !denied {
				t.Fatalf("jti not on the denylist: %v %v", denied, err)
			}
			if e.active(tok.AccessToken, c.ID, sec) || e.active(tok.RefreshToken, c.ID, sec) {
				t.Fatal("grant active after access token revocation")
			}
		})

		t.Run("opaque access token", func(t *testing.T) {
			oc, osec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}, AccessTokenFormat: FormatOpaque})
			r := e.clientCredentials(oc.ID, osec, nil)
			mustToken(t, r)
			if rr := revoke(r.str("access_token"), "access_token", oc.ID, osec); rr.status != http.StatusOK {
				t.Fatalf("revoke: %d %s", rr.status, rr.raw)
			}
			if e.active(r.str("access_token"), oc.ID, osec) {
				t.Fatal("opaque token active after revocation")
			}
		})

		t.Run("another client's token is not revoked", func(t *testing.T) {
			tok := e.codeTokens(cfg, "offline_access api")
			other, otherSec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}})
			revoke(tok.RefreshToken, "", other.ID, otherSec)
			if !e.active(tok.RefreshToken, c.ID, sec) {
				t.Fatal("a client revoked another client's token")
			}
		})

		t.Run("bad client and unknown token", func(t *testing.T) {
			mustError(t, revoke("whatever", "", c.ID, "wrong"), "invalid_client")
			if r := revoke("not-a-token", "", c.ID, sec); r.status != http.StatusOK {
				t.Fatalf("unknown token: RFC 7009 §2.2 wants 200, got %d", r.status)
			}
		})
	})
}

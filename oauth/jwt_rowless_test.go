package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sesameauth/sesame/storage"
)

// accessRows counts the access-token rows of a grant.
func (e *env) accessRows(grantID string) int {
	e.t.Helper()
	recs, err := e.store.ListByRequestID(context.Background(), storage.KindAccessToken, grantID)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(recs)
}

// TestJWTAccessTokensHaveNoRow: issuing a JWT access token writes no token
// row (only its grant), and introspection still answers from the verified
// token exactly what the row used to hold.
func TestJWTAccessTokensHaveNoRow(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()

		t.Run("client_credentials", func(t *testing.T) {
			c, sec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}, Scopes: []string{"api"}, AccessTokenFormat: FormatJWT})
			r := e.clientCredentials(c.ID, sec, url.Values{"scope": {"api"}})
			mustToken(t, r)
			_, claims := e.verifyJWT(r.str("access_token"))
			gid, _ := claims["grant_id"].(string)
			if gid == "" {
				t.Fatalf("no grant_id claim: %v", claims)
			}
			if n := e.accessRows(gid); n != 0 {
				t.Fatalf("%d access-token rows for a JWT, want 0", n)
			}
			// client_credentials tokens have no grant row either
			// (grantless_test.go): issuing this JWT wrote nothing.
			if g, err := e.store.GetGrant(ctx, gid); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("grant row %+v (%v) for a client_credentials JWT", g, err)
			}
			in := e.introspect(r.str("access_token"), c.ID, sec).body
			want := map[string]any{
				"active": true, "client_id": c.ID, "scope": "api", "jti": claims["jti"],
				"exp": claims["exp"], "iat": claims["iat"], "sub": claims["sub"], "token_type": "Bearer",
			}
			for k, v := range want {
				if in[k] != v {
					t.Errorf("introspection %s = %v, want %v", k, in[k], v)
				}
			}
		})

		t.Run("authorization_code keeps only the refresh row", func(t *testing.T) {
			_, _, cfg := e.codeClient(nil)
			tok := e.codeTokens(cfg, "offline_access api")
			_, claims := e.verifyJWT(tok.AccessToken)
			gid := claims["grant_id"].(string)
			if gid != e.requestIDOf(tok.RefreshToken) {
				t.Fatal("grant_id is not the refresh token's grant")
			}
			if n := e.accessRows(gid); n != 0 {
				t.Fatalf("%d access-token rows, want 0", n)
			}
			in := e.introspect(tok.AccessToken, cfg.ClientID, cfg.ClientSecret).body
			if in["active"] != true || in["sub"] != "user-1" || in["scope"] != "offline_access api" {
				t.Fatalf("introspection %v", in)
			}
		})

		t.Run("inactive when expired, tampered or an ID token", func(t *testing.T) {
			_, _, cfg := e.codeClient(nil)
			tok := e.codeTokens(cfg, "openid offline_access api")
			parts := strings.Split(tok.AccessToken, ".")
			tampered := parts[0] + "." + parts[1] + "x." + parts[2]
			idToken, _ := tok.Extra("id_token").(string)
			if idToken == "" {
				t.Fatal("no id_token")
			}
			for name, tkn := range map[string]string{"tampered": tampered, "id token": idToken} {
				if e.active(tkn, cfg.ClientID, cfg.ClientSecret) {
					t.Errorf("%s is active", name)
				}
			}
			if !e.active(tok.AccessToken, cfg.ClientID, cfg.ClientSecret) {
				t.Fatal("fresh token inactive")
			}
			e.clock.Advance(e.h.cfg.AccessTokenLifetime + time.Minute)
			if e.active(tok.AccessToken, cfg.ClientID, cfg.ClientSecret) {
				t.Fatal("expired JWT is active")
			}
		})
	})
}

// TestRowlessJWTRevocation: every way of revoking a grant or a token makes
// its rowless JWT access tokens introspect inactive, and leaves other
// grants alone.
func TestRowlessJWTRevocation(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		c, sec, cfg := e.codeClient(nil)
		revoke := func(token string) {
			t.Helper()
			if r := e.post(PathRevoke, url.Values{"token": {token}}, c.ID, sec); r.status != http.StatusOK {
				t.Fatalf("revoke: %d %s", r.status, r.raw)
			}
		}
		tests := []struct {
			name string
			// act revokes; it returns the JWTs that must now be inactive.
			act      func(t *testing.T, tok *oauth2.Token) []string
			denylist bool // the presented JWT's jti must be denylisted
		}{
			{"RFC 7009 revocation of the JWT", func(t *testing.T, tok *oauth2.Token) []string {
				revoke(tok.AccessToken)
				return []string{tok.AccessToken}
			}, true},
			{"RFC 7009 revocation of the refresh token", func(t *testing.T, tok *oauth2.Token) []string {
				revoke(tok.RefreshToken)
				return []string{tok.AccessToken}
			}, false},
			{"refresh token reused after rotation", func(t *testing.T, tok *oauth2.Token) []string {
				next := e.refresh(c.ID, sec, tok.RefreshToken)
				mustToken(t, next)
				mustError(t, e.refresh(c.ID, sec, tok.RefreshToken), "invalid_grant")
				return []string{tok.AccessToken, next.str("access_token")}
			}, false},
			{"admin RevokeToken with the JWT", func(t *testing.T, tok *oauth2.Token) []string {
				if err := e.h.RevokeToken(ctx, tok.AccessToken); err != nil {
					t.Fatal(err)
				}
				return []string{tok.AccessToken}
			}, true},
			{"admin RevokeGrants of the user", func(t *testing.T, tok *oauth2.Token) []string {
				if n, err := e.h.RevokeGrants(ctx, storage.GrantFilter{Subject: "user-1", ClientID: c.ID}, "test"); err != nil || n == 0 {
					t.Fatalf("RevokeGrants: %d %v", n, err)
				}
				return []string{tok.AccessToken}
			}, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tok := e.codeTokens(cfg, "offline_access api")
				_, claims := e.verifyJWT(tok.AccessToken)
				if !e.active(tok.AccessToken, c.ID, sec) {
					t.Fatal("JWT inactive before revocation")
				}
				for i, jwt := range tt.act(t, tok) {
					if e.active(jwt, c.ID, sec) {
						t.Errorf("JWT %d still active", i)
					}
				}
				denied, err := e.store.NonceExists(ctx, storage.NonceJWTDenylist, claims["jti"].(string), e.clock.Now())
				if err != nil || denied != tt.denylist {
					t.Errorf("jti denylisted = %v (%v), want %v", denied, err, tt.denylist)
				}
			})
		}

		t.Run("code replay revokes the JWT of the first exchange", func(t *testing.T) {
			verifier, challenge := pkcePair(t)
			code := e.authorize(c.ID, cfg.RedirectURL, "offline_access api", challenge, "user-1")
			tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil {
				t.Fatal("replayed code accepted")
			}
			if e.active(tok.AccessToken, c.ID, sec) {
				t.Fatal("JWT active after code replay")
			}
		})

		t.Run("client_credentials JWT revoked by RFC 7009", func(t *testing.T) {
			cc, ccSec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}, AccessTokenFormat: FormatJWT})
			first, second := e.clientCredentials(cc.ID, ccSec, nil), e.clientCredentials(cc.ID, ccSec, nil)
			mustToken(t, first)
			mustToken(t, second)
			if r := e.post(PathRevoke, url.Values{"token": {first.str("access_token")}}, cc.ID, ccSec); r.status != http.StatusOK {
				t.Fatalf("revoke: %d %s", r.status, r.raw)
			}
			if e.active(first.str("access_token"), cc.ID, ccSec) {
				t.Fatal("revoked cc JWT active")
			}
			if !e.active(second.str("access_token"), cc.ID, ccSec) {
				t.Fatal("revoking one cc JWT revoked another")
			}
		})

		t.Run("other grants stay active", func(t *testing.T) {
			a, other := e.codeTokens(cfg, "offline_access api"), e.codeTokens(cfg, "offline_access api")
			revoke(a.AccessToken)
			if !e.active(other.AccessToken, c.ID, sec) {
				t.Fatal("another grant's JWT was revoked")
			}
		})
	})
}

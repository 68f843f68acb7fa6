package oauth

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sesameauth/sesame/storage"
)

func TestPasswordGrant(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		alice := e.createUser("Alice", "correct horse", false)
		e.createUser("mallory", "correct horse", true)
		c, sec := e.createClient(storage.Client{GrantTypes: []string{"password", "refresh_token"}, Scopes: []string{"openid", "offline_access", "api"}})
		noPw, noPwSec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}, Scopes: []string{"api"}})
		pub, _ := e.createClient(storage.Client{Public: true, GrantTypes: []string{"password"}, Scopes: []string{"api"}})

		tests := []struct {
			name, user, pw, client, secret, scope string
			wantErr                               string
			wantRefresh                           bool
		}{
			{"right password with offline_access", "alice", "correct horse", c.ID, sec, "api offline_access", "", true},
			{"right password without offline_access", "Alice", "correct horse", c.ID, sec, "api", "", false},
			{"wrong password", "alice", "battery staple", c.ID, sec, "api", "invalid_grant", false},
			{"unknown user", "bob", "correct horse", c.ID, sec, "api", "invalid_grant", false},
			{"disabled user", "mallory", "correct horse", c.ID, sec, "api", "invalid_grant", false},
			{"client without the password grant", "alice", "correct horse", noPw.ID, noPwSec, "api", "unauthorized_client", false},
			{"public client", "alice", "correct horse", pub.ID, "", "api", "unauthorized_client", false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				form := url.Values{"grant_type": {"password"}, "username": {tt.user}, "password": {tt.pw}, "scope": {tt.scope}}
				var r response
				if tt.secret == "" {
					form.Set("client_id", tt.client)
					r = e.post(PathToken, form, "", "")
				} else {
					r = e.post(PathToken, form, tt.client, tt.secret)
				}
				if tt.wantErr != "" {
					mustError(t, r, tt.wantErr)
					return
				}
				mustToken(t, r)
				if got := r.str("refresh_token") != ""; got != tt.wantRefresh {
					t.Fatalf("refresh token issued = %v, want %v", got, tt.wantRefresh)
				}
				_, claims := e.verifyJWT(r.str("access_token"))
				if claims["sub"] != alice {
					t.Fatalf("sub = %v, want user id %s", claims["sub"], alice)
				}
				in := e.introspect(r.str("access_token"), c.ID, sec)
				if in.str("username") != "Alice" || in.str("sub") != alice {
					t.Fatalf("introspection: %s", in.raw)
				}
			})
		}
	})
}

// codeClient registers a confidential code-flow client.
func (e *env) codeClient(extra func(*storage.Client)) (storage.Client, string, *oauth2.Config) {
	e.t.Helper()
	c := storage.Client{
		GrantTypes:    []string{"authorization_code", "refresh_token"},
		ResponseTypes: []string{"code"},
		RedirectURIs:  []string{"https://app.example/cb"},
		Scopes:        []string{"openid", "profile", "offline_access", "api"},
	}
	if extra != nil {
		extra(&c)
	}
	c, sec := e.createClient(c)
	return c, sec, &oauth2.Config{
		ClientID: c.ID, ClientSecret: sec, RedirectURL: c.RedirectURIs[0],
		Endpoint: oauth2.Endpoint{AuthURL: e.srv.URL + "/test/authorize", TokenURL: e.srv.URL + PathToken, AuthStyle: oauth2.AuthStyleInHeader},
	}
}

func retrieveCode(t *testing.T, err error) string {
	t.Helper()
	re, ok := err.(*oauth2.RetrieveError)
	if !ok {
		t.Fatalf("want an OAuth error response, got %v", err)
	}
	if strings.Contains(string(re.Body), "access_token") {
		t.Fatalf("error response carries a token: %s", re.Body)
	}
	return re.ErrorCode
}

func TestAuthorizationCodePKCE(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		c, sec, cfg := e.codeClient(nil)
		ctx := context.Background()

		t.Run("exchange, then reuse revokes the grant", func(t *testing.T) {
			verifier, challenge := pkcePair(t)
			code := e.authorize(c.ID, cfg.RedirectURL, "openid offline_access api", challenge, "u1")
			if !strings.HasPrefix(code, prefixAuthorizeCode) {
				t.Fatalf("code %q", code)
			}
			tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			if tok.RefreshToken == "" || !strings.HasPrefix(tok.RefreshToken, prefixRefreshToken) {
				t.Fatalf("refresh token %q", tok.RefreshToken)
			}
			idt, _ := tok.Extra("id_token").(string)
			if idt == "" {
				t.Fatal("no id_token for the openid scope")
			}
			_, idc := e.verifyJWT(idt)
			if idc["sub"] != "u1" || idc["at_hash"] == nil || idc["nonce"] == nil {
				t.Fatalf("id token claims %v", idc)
			}
			_, atc := e.verifyJWT(tok.AccessToken)
			if atc["sub"] != "u1" || atc["client_id"] != c.ID || atc["scope"] != "openid offline_access api" {
				t.Fatalf("access token claims %v", atc)
			}
			if !e.active(tok.AccessToken, c.ID, sec) || !e.active(tok.RefreshToken, c.ID, sec) {
				t.Fatal("fresh tokens inactive")
			}
			_, err = cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			if got := retrieveCode(t, err); got != "invalid_grant" {
				t.Fatalf("second exchange: %s", got)
			}
			if e.active(tok.AccessToken, c.ID, sec) || e.active(tok.RefreshToken, c.ID, sec) {
				t.Fatal("tokens of a replayed code are still active")
			}
			g, err := e.store.GetGrant(ctx, e.requestIDOf(tok.RefreshToken))
			if err != nil || g.RevokedAt == nil || g.RevokeReason != "code_replay" {
				t.Fatalf("grant after code replay: %+v, %v", g, err)
			}
		})

		t.Run("wrong verifier", func(t *testing.T) {
			_, challenge := pkcePair(t)
			code := e.authorize(c.ID, cfg.RedirectURL, "api", challenge, "u1")
			other, _ := pkcePair(t)
			_, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(other))
			if got := retrieveCode(t, err); got != "invalid_grant" {
				t.Fatalf("wrong verifier: %s", got)
			}
		})

		t.Run("missing verifier", func(t *testing.T) {
			_, challenge := pkcePair(t)
			code := e.authorize(c.ID, cfg.RedirectURL, "api", challenge, "u1")
			_, err := cfg.Exchange(ctx, code)
			if got := retrieveCode(t, err); got != "invalid_grant" {
				t.Fatalf("missing verifier: %s", got)
			}
		})

		t.Run("explicit response_mode", func(t *testing.T) {
			_, challenge := pkcePair(t)
			for mode, ok := range map[string]bool{"query": true, "fragment": false} {
				q := url.Values{"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {cfg.RedirectURL}, "scope": {"api"},
					"state": {"abcdefghij"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}, "response_mode": {mode}, "test_user": {"u1"}}
				res := e.get("/test/authorize?" + q.Encode())
				loc, _ := url.Parse(res.header.Get("Location"))
				gotCode := loc != nil && (loc.Query().Get("code") != "" || strings.Contains(loc.Fragment, "code="))
				if gotCode != ok {
					t.Fatalf("response_mode=%s: code issued = %v (%d %s)", mode, gotCode, res.status, res.header.Get("Location"))
				}
			}
		})

		t.Run("form_post", func(t *testing.T) {
			// The package's own answer (FormPost) for the front channel to
			// render, and fosite's writer, should anything reach it, with
			// our template: a plain form, no script.
			verifier, challenge := pkcePair(t)
			q := url.Values{"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {cfg.RedirectURL}, "scope": {"api"},
				"state": {`st"<>`}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}, "response_mode": {"form_post"}, "test_user": {"u1"}}
			res := e.get("/test/authorize?" + q.Encode())
			if res.status != http.StatusOK || res.header.Get("Location") != "" || strings.Contains(res.raw, "<script") ||
				!strings.Contains(res.raw, `<form method="post" action="`+cfg.RedirectURL+`">`) ||
				!strings.Contains(res.raw, `<input type="hidden" name="state" value="st&#34;&lt;&gt;">`) {
				t.Fatalf("form_post: %d %v\n%s", res.status, res.header, res.raw)
			}
			m := regexp.MustCompile(`name="code" value="([^"]+)"`).FindStringSubmatch(res.raw)
			if m == nil {
				t.Fatalf("no code in\n%s", res.raw)
			}
			if _, err := cfg.Exchange(ctx, m[1], oauth2.VerifierOption(verifier)); err != nil {
				t.Fatalf("the posted code does not redeem: %v", err)
			}
		})

		t.Run("plain PKCE is refused", func(t *testing.T) {
			v := randomString(t) + randomString(t)
			q := url.Values{"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {cfg.RedirectURL}, "scope": {"api"},
				"state": {"abcdefghij"}, "code_challenge": {v}, "code_challenge_method": {"plain"}, "test_user": {"u1"}}
			res := e.get("/test/authorize?" + q.Encode())
			loc, _ := url.Parse(res.header.Get("Location"))
			if loc == nil || loc.Query().Get("code") != "" || loc.Query().Get("error") == "" {
				t.Fatalf("plain PKCE: %d %s", res.status, res.header.Get("Location"))
			}
		})

		t.Run("public client needs PKCE", func(t *testing.T) {
			pub, _, _ := e.codeClient(func(c *storage.Client) { c.Public = true; c.TokenEndpointAuthMethod = "none" })
			q := url.Values{"response_type": {"code"}, "client_id": {pub.ID}, "redirect_uri": {pub.RedirectURIs[0]}, "scope": {"api"}, "state": {"abcdefghij"}}
			res := e.get("/test/authorize?" + q.Encode())
			loc, _ := url.Parse(res.header.Get("Location"))
			if loc == nil || loc.Query().Get("error") != "invalid_request" || loc.Query().Get("code") != "" {
				t.Fatalf("public client without PKCE: %d %s", res.status, res.header.Get("Location"))
			}
			verifier, challenge := pkcePair(t)
			code := e.authorize(pub.ID, pub.RedirectURIs[0], "api offline_access", challenge, "u2")
			r := e.post(PathToken, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {pub.ID},
				"redirect_uri": {pub.RedirectURIs[0]}, "code_verifier": {verifier}}, "", "")
			mustToken(t, r)
		})
	})
}

func (e *env) get(path string) response {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	return e.do(req)
}

// codeTokens runs a full code flow and returns the token response.
func (e *env) codeTokens(cfg *oauth2.Config, scope string) *oauth2.Token {
	e.t.Helper()
	verifier, challenge := pkcePair(e.t)
	code := e.authorize(cfg.ClientID, cfg.RedirectURL, scope, challenge, "user-1")
	tok, err := cfg.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		e.t.Fatalf("exchange: %v", err)
	}
	return tok
}

// refresh uses rt once, returning the raw response.
func (e *env) refresh(id, sec, rt string) response {
	e.t.Helper()
	return e.post(PathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, id, sec)
}

func TestRefreshRotationAndReuse(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		c, sec, cfg := e.codeClient(nil)
		tok := e.codeTokens(cfg, "openid offline_access api")

		// x/oauth2 refreshes an expired token through its TokenSource.
		tok.Expiry = time.Now().Add(-time.Minute)
		next, err := cfg.TokenSource(context.Background(), tok).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if next.RefreshToken == tok.RefreshToken || next.AccessToken == tok.AccessToken {
			t.Fatal("refresh did not rotate")
		}
		if idt, _ := next.Extra("id_token").(string); idt == "" {
			t.Fatal("no id_token on refresh of an openid grant")
		}
		if e.active(tok.RefreshToken, c.ID, sec) {
			t.Fatal("rotated refresh token is still active")
		}
		if !e.active(next.RefreshToken, c.ID, sec) || !e.active(next.AccessToken, c.ID, sec) {
			t.Fatal("new pair inactive")
		}

		// Reusing the rotated token revokes the whole family.
		mustError(t, e.refresh(c.ID, sec, tok.RefreshToken), "invalid_grant")
		if e.active(next.RefreshToken, c.ID, sec) || e.active(next.AccessToken, c.ID, sec) {
			t.Fatal("family still active after refresh token reuse")
		}
		mustError(t, e.refresh(c.ID, sec, next.RefreshToken), "invalid_grant")
		g, err := e.store.GetGrant(context.Background(), e.requestIDOf(next.RefreshToken))
		if err != nil || g.RevokedAt == nil || g.RevokeReason != "refresh_reuse" {
			t.Fatalf("grant after reuse: %+v, %v", g, err)
		}

		// A refresh token of another client is refused.
		other, otherSec, otherCfg := e.codeClient(nil)
		_ = otherCfg
		tok2 := e.codeTokens(cfg, "offline_access api")
		mustError(t, e.refresh(other.ID, otherSec, tok2.RefreshToken), "invalid_grant")
		mustToken(t, e.refresh(c.ID, sec, tok2.RefreshToken))

		// Without offline_access there is no refresh token.
		tok3 := e.codeTokens(cfg, "api")
		if tok3.RefreshToken != "" {
			t.Fatal("refresh token issued without offline_access")
		}
	})
}

func TestRefreshWithoutRotation(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, withConfig(func(c *Config) { c.RotateRefreshTokens = false }))
		c, sec, cfg := e.codeClient(nil)
		tok := e.codeTokens(cfg, "offline_access api")
		for i := range 3 {
			r := e.refresh(c.ID, sec, tok.RefreshToken)
			mustToken(t, r)
			if r.str("refresh_token") != tok.RefreshToken {
				t.Fatalf("refresh %d: got a new refresh token with rotation off", i)
			}
			if !e.active(r.str("access_token"), c.ID, sec) {
				t.Fatalf("refresh %d: access token inactive", i)
			}
		}
		if n := e.activeRefreshTokens(e.requestIDOf(tok.RefreshToken)); n != 1 {
			t.Fatalf("%d live refresh tokens, want 1", n)
		}
	})
}

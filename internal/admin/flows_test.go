package admin

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"golang.org/x/oauth2"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/oauth"
	"github.com/sesameauth/sesame/storage"
)

// TestDynamicallyRegisteredClientCompletesFlows registers a client over
// RFC 7591 and uses it against the real token endpoint: client_credentials
// with golang.org/x/oauth2/clientcredentials, and the authorization code
// flow with PKCE through a test-only authorize route built on oauth's
// fosite provider (package oidc owns the real authorize endpoint and is not
// importable here).
func TestDynamicallyRegisteredClientCompletesFlows(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		redirect := "http://127.0.0.1:9/cb"
		r := e.call(http.MethodPost, PathRegister, e.initialAccessToken(0), map[string]any{
			"client_name": "Partner", "redirect_uris": []string{redirect},
			"grant_types": []string{"authorization_code", "refresh_token", "client_credentials"},
			"scope":       "openid profile offline_access read",
		})
		if r.status != http.StatusCreated {
			t.Fatalf("register: %d %s", r.status, r.body)
		}
		var reg regResp
		r.json(t, &reg)

		t.Run("client_credentials", func(t *testing.T) {
			tok := e.ccToken(reg.ClientID, reg.ClientSecret, "read")
			p, err := e.admin.tokens.VerifyAccessToken(ctx, tok)
			if err != nil {
				t.Fatalf("token from the registered client is not active: %v", err)
			}
			if p.ClientID != reg.ClientID || p.Subject != reg.ClientID || !slices.Contains(p.Scopes, "read") {
				t.Fatalf("principal %+v", p)
			}
			// The token of a self-registered client does not open the admin API.
			if r := e.call(http.MethodGet, "/admin/clients", tok, nil); r.status != http.StatusForbidden {
				t.Fatalf("admin API with a partner token: %d", r.status)
			}
		})

		t.Run("authorization_code", func(t *testing.T) {
			u, err := e.svc.CreateUser(ctx, "cli", app.NewUser{Username: "erin", Password: "pw-long-enough"})
			if err != nil {
				t.Fatal(err)
			}
			cfg := oauth2.Config{
				ClientID: reg.ClientID, ClientSecret: reg.ClientSecret, RedirectURL: redirect,
				Scopes: []string{"openid", "offline_access"},
				Endpoint: oauth2.Endpoint{AuthURL: e.srv.URL + "/test/authorize", TokenURL: e.srv.URL + oauth.PathToken,
					AuthStyle: oauth2.AuthStyleInHeader},
			}
			verifier := oauth2.GenerateVerifier()
			authURL := cfg.AuthCodeURL("state-123456789", oauth2.S256ChallengeOption(verifier),
				oauth2.SetAuthURLParam("test_user", u.ID), oauth2.SetAuthURLParam("nonce", "nonce-123456789"))
			resp, err := e.http.Get(authURL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil || resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
				t.Fatalf("authorize: %d %s", resp.StatusCode, resp.Header.Get("Location"))
			}
			code := loc.Query().Get("code")
			if code == "" || loc.Query().Get("state") != "state-123456789" {
				t.Fatalf("authorize redirect %s", loc)
			}
			tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			if tok.RefreshToken == "" || tok.Extra("id_token") == nil {
				t.Fatalf("token response lacks refresh or ID token: %+v", tok)
			}
			p, err := e.admin.tokens.VerifyAccessToken(ctx, tok.AccessToken)
			if err != nil || p.Subject != u.ID || p.ClientID != reg.ClientID {
				t.Fatalf("access token principal %+v, %v", p, err)
			}
			// A refresh token is not an access token.
			if _, err := e.admin.tokens.VerifyAccessToken(ctx, tok.RefreshToken); err == nil {
				t.Fatal("a refresh token was accepted as an access token")
			}
			// Revoking the user's consent through the admin API kills the token.
			e.do(http.MethodDelete, "/admin/users/"+u.ID+"/consents/"+reg.ClientID, nil, http.StatusOK)
			if _, err := e.admin.tokens.VerifyAccessToken(ctx, tok.AccessToken); err == nil {
				t.Fatal("the access token survived the revocation of its consent")
			}
		})
	})
}

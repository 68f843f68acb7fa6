package oauth

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/sesameauth/sesame/storage"
)

// TestVerifyAccessToken pins the one access-token check used by /userinfo
// and the admin API: active JWT and opaque access tokens verify with their
// client, subject and scopes; refresh tokens, garbage and revoked tokens
// are ErrInactiveToken; a store outage is an error that is NOT
// ErrInactiveToken, so callers answer 503 instead of "invalid token".
func TestVerifyAccessToken(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		_, _, cfg := e.codeClient(nil)
		const uid = "user-1" // the subject e.authorize approves for
		tok := e.codeTokens(cfg, "openid offline_access")

		at, err := e.h.VerifyAccessToken(ctx, tok.AccessToken)
		if err != nil {
			t.Fatalf("active code-flow JWT: %v", err)
		}
		if at.Subject != uid || at.ClientID != cfg.ClientID || !at.HasScope("openid") || !slices.Contains(at.Scopes, "offline_access") {
			t.Fatalf("verified token = %+v, want subject %s client %s with openid offline_access", at, uid, cfg.ClientID)
		}

		opq, opqSec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}, Scopes: []string{"api"}, AccessTokenFormat: FormatOpaque})
		r := e.clientCredentials(opq.ID, opqSec, nil)
		mustToken(t, r)
		at, err = e.h.VerifyAccessToken(ctx, r.str("access_token"))
		if err != nil || at.ClientID != opq.ID || at.Subject != opq.ID {
			t.Fatalf("opaque client_credentials token: %+v, %v", at, err)
		}

		idToken, _ := tok.Extra("id_token").(string)
		if idToken == "" {
			t.Fatal("no ID token in the code-flow response")
		}
		for name, v := range map[string]string{
			"refresh token": tok.RefreshToken,
			"ID token":      idToken,
			"garbage":       "not-a-token",
			"empty":         "",
		} {
			if _, err := e.h.VerifyAccessToken(ctx, v); !errors.Is(err, ErrInactiveToken) {
				t.Errorf("%s: err = %v, want ErrInactiveToken", name, err)
			}
		}

		if err := e.h.RevokeToken(ctx, tok.RefreshToken); err != nil {
			t.Fatal(err)
		}
		if _, err := e.h.VerifyAccessToken(ctx, tok.AccessToken); !errors.Is(err, ErrInactiveToken) {
			t.Fatalf("access token after its grant was revoked: err = %v, want ErrInactiveToken", err)
		}

		fresh := e.clientCredentials(opq.ID, opqSec, nil)
		mustToken(t, fresh)
		e.breakDB()
		_, err = e.h.VerifyAccessToken(ctx, fresh.str("access_token"))
		if err == nil || errors.Is(err, ErrInactiveToken) {
			t.Fatalf("store down: err = %v, want a store failure (not ErrInactiveToken)", err)
		}
	})
}

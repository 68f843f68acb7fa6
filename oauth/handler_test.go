package oauth

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/keys"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

func TestNewRejectsBadDeps(t *testing.T) {
	store, _ := backends[0].open(t)
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	ring, _ := secret.New(raw)
	km, err := keys.New(context.Background(), store, ring, keys.Options{Algorithms: []string{keys.ES256}})
	if err != nil {
		t.Fatal(err)
	}
	good := func() Deps {
		return Deps{Store: store, Keys: km, Ring: ring, Config: Config{
			Issuer: "https://id.example", AccessTokenLifetime: time.Minute, RefreshTokenLifetime: time.Hour,
			IDTokenLifetime: time.Minute, AuthCodeLifetime: time.Minute,
			IDTokenSigningAlg: keys.ES256, AccessTokenSigningAlg: keys.ES256,
		}}
	}
	if _, err := New(good()); err != nil {
		t.Fatalf("good deps: %v", err)
	}
	tests := []struct {
		name   string
		break_ func(*Deps)
		want   string
	}{
		{"no store", func(d *Deps) { d.Store = nil }, "Store"},
		{"no keys", func(d *Deps) { d.Keys = nil }, "Keys"},
		{"no keyring", func(d *Deps) { d.Ring = nil }, "Ring"},
		{"relative issuer", func(d *Deps) { d.Config.Issuer = "/id" }, "Issuer"},
		{"zero lifetime", func(d *Deps) { d.Config.AccessTokenLifetime = 0 }, "AccessTokenLifetime"},
		{"unknown format", func(d *Deps) { d.Config.AccessTokenFormat = "paseto" }, "AccessTokenFormat"},
		{"unsupported alg", func(d *Deps) { d.Config.IDTokenSigningAlg = "HS256" }, "IDTokenSigningAlg"},
		{"alg without an active key", func(d *Deps) { d.Config.AccessTokenSigningAlg = keys.RS256 }, "AccessTokenSigningAlg"},
		{"negative grace", func(d *Deps) { d.Config.RefreshReuseGrace = -time.Second }, "RefreshReuseGrace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := good()
			tt.break_(&d)
			if _, err := New(d); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

// TestIDTokenAlgorithms: the server default (RS256 per SPEC) and a
// client's own id_token_signed_response_alg.
func TestIDTokenAlgorithms(t *testing.T) {
	e := newEnv(t, backends[0], func(c *Config, o *keys.Options) {
		c.IDTokenSigningAlg = keys.RS256
		o.Algorithms = []string{keys.RS256, keys.ES256}
	})
	for _, tt := range []struct{ name, clientAlg, want string }{
		{"server default", "", "RS256"},
		{"client registered ES256", "ES256", "ES256"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, cfg := e.codeClient(func(c *storage.Client) { c.IDTokenSignedResponseAlg = tt.clientAlg })
			tok := e.codeTokens(cfg, "openid offline_access")
			h, claims := e.verifyJWT(tok.Extra("id_token").(string))
			if h.Algorithm != tt.want || claims["at_hash"] == nil {
				t.Fatalf("id token alg %s (want %s), claims %v", h.Algorithm, tt.want, claims)
			}
			// Access tokens keep their own algorithm.
			if ah, _ := e.verifyJWT(tok.AccessToken); ah.Algorithm != "ES256" {
				t.Fatalf("access token alg %s", ah.Algorithm)
			}
			// A refresh issues a new ID token with the same algorithm.
			r := e.refresh(cfg.ClientID, cfg.ClientSecret, tok.RefreshToken)
			mustToken(t, r)
			if h, _ := e.verifyJWT(r.str("id_token")); h.Algorithm != tt.want {
				t.Fatalf("refreshed id token alg %s", h.Algorithm)
			}
		})
	}
}

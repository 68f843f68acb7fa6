package oidc_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/keys"
	"github.com/sesameauth/sesame/internal/session"
	"github.com/sesameauth/sesame/oauth"
	"github.com/sesameauth/sesame/oidc"
	"github.com/sesameauth/sesame/storage"
)

// FuzzAuthorizeRequest sends arbitrary query strings (GET) and form bodies
// (POST) to /oauth2/authorize: the answer is never a 5xx or a panic, and a
// redirect only ever goes to the issuer's own pages or to a registered
// redirect URI (RFC 6749 §4.1.2.1: no open redirect on a bad request).
func FuzzAuthorizeRequest(f *testing.F) {
	const issuer = "http://127.0.0.1:9"
	ctx := context.Background()
	store, ring := testStore(f)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	km, err := keys.New(ctx, store, ring, keys.Options{Algorithms: []string{keys.ES256}, Logger: logger})
	if err != nil {
		f.Fatal(err)
	}
	oh, err := oauth.New(oauth.Deps{Config: oauth.Config{Issuer: issuer, AccessTokenLifetime: time.Minute,
		RefreshTokenLifetime: time.Hour, IDTokenLifetime: time.Minute, AuthCodeLifetime: time.Minute,
		RotateRefreshTokens: true, IDTokenSigningAlg: keys.ES256, AccessTokenSigningAlg: keys.ES256},
		Store: store, Keys: km, Ring: ring, PasswordParams: cheap, Logger: logger})
	if err != nil {
		f.Fatal(err)
	}
	sessions := session.New(store, issuer, time.Hour, nil)
	ih, err := oidc.New(oidc.Deps{OAuth: oh, Store: store, Sessions: sessions, Keys: km, Issuer: issuer, Logger: logger})
	if err != nil {
		f.Fatal(err)
	}
	g := gin.New()
	ih.Mount(g)
	registered := []string{"https://app.example.com/cb", "com.example.app:/cb"}
	now := time.Now().UTC()
	for _, c := range []storage.Client{
		{ID: "pub", Public: true, TokenEndpointAuthMethod: "none", RedirectURIs: registered[:1],
			GrantTypes: []string{"authorization_code"}, ResponseTypes: []string{"code"}, Scopes: []string{"openid", "profile"}},
		{ID: "conf", SecretHash: ring.HashClientSecret("s"), TokenEndpointAuthMethod: "client_secret_basic", RedirectURIs: registered[1:],
			GrantTypes: []string{"authorization_code"}, ResponseTypes: []string{"code"}, Scopes: []string{"openid"}},
	} {
		c.CreatedAt, c.UpdatedAt = now, now
		if err := store.CreateClient(ctx, c); err != nil {
			f.Fatal(err)
		}
	}

	for _, q := range []string{
		"response_type=code&client_id=pub&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&scope=openid&state=abcdefgh&code_challenge=" + strings.Repeat("A", 43) + "&code_challenge_method=S256",
		"response_type=code&client_id=conf&redirect_uri=com.example.app%3A%2Fcb&scope=openid&state=abcdefgh&nonce=12345678",
		"response_type=code&client_id=pub&redirect_uri=https%3A%2F%2Fevil.example.com%2Fcb&state=abcdefgh",
		"response_type=token&client_id=pub&state=abcdefgh",
		"response_type=code&client_id=pub&prompt=none&max_age=-1&state=abcdefgh",
		"response_type=code&client_id=pub&response_mode=fragment&state=abcdefgh",
		"response_type=code&client_id=pub&request=eyJhbGciOiJub25lIn0.e30.&state=abcdefgh",
		"flow=nope", "client_id=%zz", "client_id=pub&client_id=conf", "", "&&&==&",
	} {
		f.Add("GET", q)
		f.Add("POST", q)
	}
	f.Fuzz(func(t *testing.T, method, query string) {
		var req *http.Request
		if method == "POST" {
			req = httptest.NewRequest(http.MethodPost, issuer+oidc.PathAuthorize, strings.NewReader(query))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req = httptest.NewRequest(http.MethodGet, issuer+oidc.PathAuthorize, nil)
			req.URL.RawQuery = query
		}
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: status %d: %s", method, query, rec.Code, rec.Body)
		}
		loc := rec.Header().Get("Location")
		if loc == "" {
			return
		}
		ok := strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, issuer+"/")
		for _, r := range registered {
			ok = ok || loc == r || strings.HasPrefix(loc, r+"?") || strings.HasPrefix(loc, r+"#")
		}
		if !ok {
			t.Fatalf("%s %q redirected to %q, neither the issuer nor a registered redirect URI", method, query, loc)
		}
	})
}

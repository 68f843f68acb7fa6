package oauth

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/keys"
	"github.com/sesameauth/sesame/internal/password"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/sqlite"
)

// FuzzTokenEndpoint sends arbitrary bodies, content types and Basic
// credentials to POST /oauth2/token: the answer is always a JSON OAuth
// error or token response with a 2xx/4xx status, never a 5xx or a panic
// (RFC 6749 §5.2). Seeds cover every grant with valid and broken values.
func FuzzTokenEndpoint(f *testing.F) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(f.TempDir(), "sesame.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		f.Fatal(err)
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	ring, err := secret.New(raw)
	if err != nil {
		f.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	km, err := keys.New(ctx, store, ring, keys.Options{Algorithms: []string{keys.ES256}, Logger: logger})
	if err != nil {
		f.Fatal(err)
	}
	h, err := New(Deps{Config: Config{Issuer: "http://127.0.0.1:9", AccessTokenLifetime: time.Minute,
		RefreshTokenLifetime: time.Hour, IDTokenLifetime: time.Minute, AuthCodeLifetime: time.Minute,
		RotateRefreshTokens: true, IDTokenSigningAlg: keys.ES256, AccessTokenSigningAlg: keys.ES256},
		Store: store, Keys: km, Ring: ring, PasswordParams: testPasswordParams, Logger: logger})
	if err != nil {
		f.Fatal(err)
	}
	r := gin.New()
	h.Mount(r)

	const clientSecret = "fuzz-client-secret"
	now := time.Now().UTC()
	if err := store.CreateClient(ctx, storage.Client{ID: "fuzz", SecretHash: ring.HashClientSecret(clientSecret),
		TokenEndpointAuthMethod: "client_secret_basic", GrantTypes: []string{"client_credentials", "password", "refresh_token", "authorization_code", app.TokenExchangeGrantType},
		TokenExchangeAudiences: []string{"urn:a"}, Scopes: []string{"openid", "offline_access", "api"}, RedirectURIs: []string{"https://c.example.com/cb"}, CreatedAt: now, UpdatedAt: now}); err != nil {
		f.Fatal(err)
	}
	hash, err := password.Hash("pw", testPasswordParams)
	if err != nil {
		f.Fatal(err)
	}
	if err := store.CreateUser(ctx, storage.User{ID: "u1", Username: "alice", PasswordHash: hash, CreatedAt: now, UpdatedAt: now}); err != nil {
		f.Fatal(err)
	}

	form := "application/x-www-form-urlencoded"
	for _, seed := range []struct{ ctype, body, user, pass string }{
		{form, "grant_type=client_credentials&scope=api", "fuzz", clientSecret},
		{form, "grant_type=password&username=alice&password=pw&scope=openid+offline_access", "fuzz", clientSecret},
		{form, "grant_type=password&username=alice&password=wrong", "fuzz", clientSecret},
		{form, "grant_type=refresh_token&refresh_token=sesame_rt_x.y", "fuzz", clientSecret},
		{form, "grant_type=authorization_code&code=sesame_ac_x.y&redirect_uri=https%3A%2F%2Fc.example.com%2Fcb&code_verifier=" + strings.Repeat("a", 43), "fuzz", clientSecret},
		{form, "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c", "", ""},
		{form, "grant_type=client_credentials&client_id=fuzz&client_secret=" + clientSecret, "", ""},
		{form, "grant_type=urn:ietf:params:oauth:grant-type:device_code", "fuzz", clientSecret},
		{form, "grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token=sesame_at_x.y&subject_token_type=urn:ietf:params:oauth:token-type:access_token&audience=urn:a&scope=api", "fuzz", clientSecret},
		{form, "grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token=a.b.c&subject_token_type=urn:ietf:params:oauth:token-type:jwt&actor_token=a.b.c&actor_token_type=urn:ietf:params:oauth:token-type:jwt&resource=https%3A%2F%2Fx", "fuzz", clientSecret},
		{form, "grant_type=%zz", "fuzz", "x"},
		{form, "grant_type=client_credentials&grant_type=password", "fuzz", clientSecret},
		{form, "", "", ""},
		{"multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--x--\r\n", "fuzz", clientSecret},
		{"multipart/form-data; boundary=x", "--x\r\n", "fuzz", clientSecret},
		{"application/json", `{"grant_type":"client_credentials"}`, "fuzz", clientSecret},
		{form, "grant_type=client_credentials&scope=" + strings.Repeat("api ", 500), "fuzz%3A", "%zz"},
	} {
		f.Add(seed.ctype, seed.body, seed.user, seed.pass)
	}
	f.Fuzz(func(t *testing.T, ctype, body, user, pass string) {
		req := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		if user != "" || pass != "" {
			req.SetBasicAuth(user, pass)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q %q (basic %q:%q): %s", rec.Code, ctype, body, user, pass, rec.Body)
		}
		if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			t.Fatalf("status %d with Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
		}
		if rec.Code != http.StatusOK {
			if !strings.Contains(rec.Body.String(), `"error"`) {
				t.Fatalf("status %d without an OAuth error body: %s", rec.Code, rec.Body)
			}
		}
	})
}

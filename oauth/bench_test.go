package oauth

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/token/hmac"
	"github.com/ory/fosite/token/jwt"

	"github.com/sesameauth/sesame/internal/keys"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage/sqlite"
)

// benchSigner is the access-token signer over a key manager with one
// active key of alg (SQLite in a temp dir; keys are in memory after New).
func benchSigner(b testing.TB, alg string) *jwtSigner {
	b.Helper()
	s, _ := benchSignerStore(b, alg)
	return s
}

// benchSignerStore is benchSigner with the store its keys live in.
func benchSignerStore(b testing.TB, alg string) (*jwtSigner, *sqlite.Store) {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	ring, err := secret.New(make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	km, err := keys.New(ctx, st, ring, keys.Options{Algorithms: []string{alg}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	return &jwtSigner{keys: km, alg: func(context.Context, jwt.Mapper) string { return alg }}, st
}

// benchClaims is a typical access token (RFC 9068 claims plus grant_id).
func benchClaims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": "https://sesame.example", "sub": "8f2d0c1e-6a4b-4c7e-9d3a-2b1f0e5c7a90",
		"aud": []string{"api"}, "exp": now.Add(15 * time.Minute).Unix(), "iat": now.Unix(),
		"jti": "b1a3c5e7d9f1b1a3c5e7d9f1", "client_id": "web", "scope": "openid api",
		"grant_id": "6a4b4c7e-9d3a-2b1f-0e5c-7a908f2d0c1e",
	}
}

// BenchmarkSignAccessToken is the signing cost of one JWT access token per
// algorithm through the signer fosite calls (key lookup, JOSE, base64).
func BenchmarkSignAccessToken(b *testing.B) {
	for _, alg := range keys.Supported() {
		b.Run(alg, func(b *testing.B) {
			s := benchSigner(b, alg)
			ctx, claims := context.Background(), benchClaims()
			hdr := &jwt.Headers{Extra: map[string]any{"typ": "at+jwt"}}
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := s.Generate(ctx, claims, hdr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyAccessToken is what introspecting a rowless JWT costs
// before its two storage reads (grant, denylist): parse, key lookup by kid,
// signature, claims.
func BenchmarkVerifyAccessToken(b *testing.B) {
	for _, alg := range keys.Supported() {
		b.Run(alg, func(b *testing.B) {
			s := benchSigner(b, alg)
			ctx := context.Background()
			tok, _, err := s.Generate(ctx, benchClaims(), &jwt.Headers{Extra: map[string]any{"typ": "at+jwt"}})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Decode(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyAccessTokenCached is a repeat introspection of the same
// JWT: the verification is remembered (verifycache.go), so this is the
// hash of the token, a map lookup, the key check and the claims check.
func BenchmarkVerifyAccessTokenCached(b *testing.B) {
	s := benchSigner(b, keys.ES256)
	s.verified = newVerifiedCache(verifiedCacheMax, nil)
	ctx := context.Background()
	tok, _, err := s.Generate(ctx, benchClaims(), &jwt.Headers{Extra: map[string]any{"typ": "at+jwt"}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Decode(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpaqueAccessToken is generating (and validating) an opaque
// sesame_at_ token: 32 random bytes and an HMAC-SHA512/256.
func BenchmarkOpaqueAccessToken(b *testing.B) {
	cfg := &fosite.Config{GlobalSecret: make([]byte, 32), AccessTokenLifespan: time.Hour}
	h := &hmacStrategy{HMACSHAStrategyUnPrefixed: oauth2.NewHMACSHAStrategyUnPrefixed(&hmac.HMACStrategy{Config: cfg}, cfg)}
	ctx := context.Background()
	r := fosite.NewRequest()
	r.Session = newSession("u", "", "c")
	r.Session.SetExpiresAt(fosite.AccessToken, time.Now().Add(time.Hour))
	b.Run("generate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := h.GenerateAccessToken(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	tok, _, _ := h.GenerateAccessToken(ctx, r)
	b.Run("validate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := h.ValidateAccessToken(ctx, r, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}

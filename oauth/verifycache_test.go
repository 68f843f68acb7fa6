package oauth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ory/fosite/token/jwt"

	"github.com/sesameauth/sesame/internal/keys"
)

func signedAccessToken(t *testing.T, s *jwtSigner, claims jwt.MapClaims) string {
	t.Helper()
	tok, _, err := s.Generate(context.Background(), claims, &jwt.Headers{Extra: map[string]any{"typ": "at+jwt"}})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// A token verified once is answered from the cache with the same claims,
// and what a caller does to its copy does not reach the cache.
func TestVerifiedCacheServesRepeatLookups(t *testing.T) {
	s := benchSigner(t, keys.ES256)
	s.verified = newVerifiedCache(8, nil)
	tok := signedAccessToken(t, s, benchClaims())
	ctx := context.Background()
	first, err := s.Decode(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if s.verified.len() != 1 {
		t.Fatalf("cache holds %d entries after one verification, want 1", s.verified.len())
	}
	first.Claims["sub"] = "mallory"
	second, err := s.Decode(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if second.Claims["sub"] != benchClaims()["sub"] || second.Header["typ"] != "at+jwt" || second.Header["kid"] == "" {
		t.Fatalf("cached token = %v %v", second.Header, second.Claims)
	}
}

// A token with a changed signature or payload is never answered from the
// cache entry of the genuine one.
func TestVerifiedCacheRefusesTamperedTokens(t *testing.T) {
	s := benchSigner(t, keys.ES256)
	s.verified = newVerifiedCache(8, nil)
	tok := signedAccessToken(t, s, benchClaims())
	if _, err := s.Decode(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	sig := []byte(parts[2])
	sig[5] ^= 1
	for name, bad := range map[string]string{
		"signature": parts[0] + "." + parts[1] + "." + string(sig),
		"payload":   parts[0] + "." + parts[1] + "x." + parts[2],
	} {
		if _, err := s.Decode(context.Background(), bad); err == nil {
			t.Errorf("%s changed: token accepted", name)
		}
	}
}

// Expired tokens are neither kept nor served, and the bound holds.
func TestVerifiedCacheExpiryAndBound(t *testing.T) {
	s := benchSigner(t, keys.ES256)
	now := time.Now()
	clock := now
	s.verified = newVerifiedCache(3, func() time.Time { return clock })
	for i := range 5 {
		c := benchClaims()
		c["jti"] = string(rune('a' + i))
		if _, err := s.Decode(context.Background(), signedAccessToken(t, s, c)); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.verified.len(); n != 3 {
		t.Fatalf("cache holds %d entries, bound 3", n)
	}
	tok := signedAccessToken(t, s, benchClaims())
	if _, err := s.Decode(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	clock = now.Add(time.Hour) // past exp (15 min)
	if _, ok := s.verified.get(tok); ok {
		t.Fatal("an expired token was served from the cache")
	}
	expired := benchClaims()
	expired["exp"] = now.Add(-time.Minute).Unix()
	clock = now
	before := s.verified.len()
	if _, err := s.Decode(context.Background(), signedAccessToken(t, s, expired)); err == nil {
		t.Fatal("expired token decoded without error")
	}
	if s.verified.len() > before {
		t.Fatal("an expired token was cached")
	}
}

// A token whose key is no longer published fails even though its
// verification was cached.
func TestVerifiedCacheWithdrawnKey(t *testing.T) {
	s, st := benchSignerStore(t, keys.ES256)
	s.verified = newVerifiedCache(8, nil)
	ctx := context.Background()
	tok := signedAccessToken(t, s, benchClaims())
	if _, err := s.Decode(ctx, tok); err != nil {
		t.Fatal(err)
	}
	infos, err := s.keys.List(ctx)
	if err != nil || len(infos) != 1 {
		t.Fatalf("keys: %v %v", infos, err)
	}
	if err := st.DeleteKey(ctx, infos[0].KID); err != nil {
		t.Fatal(err)
	}
	if err := s.keys.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Decode(ctx, tok); err == nil {
		t.Fatal("a token of a withdrawn key still decodes from the cache")
	}
}

// len is the number of entries (only the tests ask).
func (c *verifiedCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

package keys

import (
	"context"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

func BenchmarkActive(b *testing.B) {
	ctx := context.Background()
	m := newManager(b, newSQLite(b), testRing(b, 1), Options{Algorithms: []string{ES256, EdDSA}})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Active(ctx, ES256); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkLookup(b *testing.B) {
	ctx := context.Background()
	m := newManager(b, newSQLite(b), testRing(b, 1), Options{Algorithms: []string{ES256}})
	k, _ := m.Active(ctx, ES256)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Lookup(ctx, k.KID); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkJWKS(b *testing.B) {
	ctx := context.Background()
	m := newManager(b, newSQLite(b), testRing(b, 1), Options{Algorithms: Supported()})
	b.ReportAllocs()
	for b.Loop() {
		if body, _, err := m.JWKS(ctx); err != nil || len(body) == 0 {
			b.Fatal(err)
		}
	}
}

// BenchmarkSign is the per-token signing cost: jose.NewSigner, Sign and
// CompactSerialize of a typical access-token payload with the active key.
func BenchmarkSign(b *testing.B) {
	payload := []byte(`{"iss":"https://sesame.example","sub":"8f2d0c1e-6a4b-4c7e-9d3a-2b1f0e5c7a90","aud":["api"],"exp":1767270000,"iat":1767269100,"jti":"b1a3c5e7d9f1","client_id":"web","scope":"openid profile"}`)
	for _, alg := range Supported() {
		b.Run(alg, func(b *testing.B) {
			ctx := context.Background()
			st, ring, kopts := newSQLite(b), testRing(b, 1), Options{Algorithms: []string{alg}}
			newManager(b, st, ring, kopts)
			// Sign with a key loaded (decrypted) from the store, as after a
			// restart, not the freshly generated one.
			m := newManager(b, st, ring, kopts)
			k, _ := m.Active(ctx, alg)
			opts := (&jose.SignerOptions{}).WithHeader("kid", k.KID).WithType("at+jwt")
			b.ReportAllocs()
			for b.Loop() {
				s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: k.Signer}, opts)
				if err != nil {
					b.Fatal(err)
				}
				obj, err := s.Sign(payload)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := obj.CompactSerialize(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package rs

import (
	"context"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// The figures in docs/tokens.md come from:
//
//	go test -p 1 -run '^$' -bench . -benchmem -count 5 ./rs/...

func benchmarkVerify(b *testing.B, alg jose.SignatureAlgorithm) {
	iss := newTestIssuer(b)
	v := newVerifier(b, iss, nil)
	tok := iss.token(alg, nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for b.Loop() {
		if _, err := v.Authenticate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

func BenchmarkVerifyLocalES256(b *testing.B) { benchmarkVerify(b, jose.ES256) }
func BenchmarkVerifyLocalRS256(b *testing.B) { benchmarkVerify(b, jose.RS256) }
func BenchmarkVerifyLocalEdDSA(b *testing.B) { benchmarkVerify(b, jose.EdDSA) }

func BenchmarkIntrospectCached(b *testing.B) {
	iss := newTestIssuer(b)
	in := newIntrospector(b, iss, func(c *IntrospectionConfig) { c.CacheTTL = time.Minute })
	tok := iss.issueOpaque(iss.activeOpaque())
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for b.Loop() {
		if _, err := in.Authenticate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkIntrospectUncached is one loopback HTTP round trip to an issuer
// that answers from memory: a floor, since a real issuer also reads its
// database.
func BenchmarkIntrospectUncached(b *testing.B) {
	iss := newTestIssuer(b)
	in := newIntrospector(b, iss, nil)
	tok := iss.issueOpaque(iss.activeOpaque())
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for b.Loop() {
		if _, err := in.Authenticate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

package integration

import (
	"context"
	"testing"
	"time"

	"github.com/sesameauth/sesame/oauth"
	"github.com/sesameauth/sesame/rs"
)

// Against a real Sesame (SQLite in a temp dir, loopback HTTP); the figures in
// docs/tokens.md come from:
//
//	go test -p 1 -run '^$' -bench . -benchmem -count 5 ./rs/...

func benchAuth(b *testing.B, auth rs.Authenticator, tok string) {
	ctx := context.Background()
	if _, err := auth.Authenticate(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for b.Loop() {
		if _, err := auth.Authenticate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

func BenchmarkSesameVerifyLocalES256(b *testing.B) {
	s := startSesame(b)
	sec := s.client("batch-job", oauth.FormatJWT, "api:read")
	benchAuth(b, newVerifier(b, s), s.token("batch-job", sec, "api:read"))
}

func BenchmarkSesameIntrospectOpaque(b *testing.B) {
	s := startSesame(b)
	sec := s.client("legacy-app", oauth.FormatOpaque, "api:read")
	rsSec := s.client("orders-api", "", oauth.ScopeIntrospect)
	benchAuth(b, newIntrospector(b, s, "orders-api", rsSec), s.token("legacy-app", sec, "api:read"))
}

func BenchmarkSesameIntrospectJWT(b *testing.B) {
	s := startSesame(b)
	sec := s.client("batch-job", oauth.FormatJWT, "api:read")
	rsSec := s.client("orders-api", "", oauth.ScopeIntrospect)
	benchAuth(b, newIntrospector(b, s, "orders-api", rsSec), s.token("batch-job", sec, "api:read"))
}

func BenchmarkSesameIntrospectCached(b *testing.B) {
	s := startSesame(b)
	sec := s.client("legacy-app", oauth.FormatOpaque, "api:read")
	rsSec := s.client("orders-api", "", oauth.ScopeIntrospect)
	in, err := rs.NewIntrospector(context.Background(), rs.IntrospectionConfig{
		Issuer: s.URL, ClientID: "orders-api", ClientSecret: rsSec, Audience: audience, CacheTTL: 30 * time.Second,
	})
	if err != nil {
		b.Fatal(err)
	}
	benchAuth(b, in, s.token("legacy-app", sec, "api:read"))
}

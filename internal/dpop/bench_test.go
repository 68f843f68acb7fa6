package dpop

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"testing"
)

// BenchmarkVerifyES256 is what a DPoP proof adds to a request on the
// server: parse, one ES256 signature verification, the RFC 7638
// thumbprint (one SHA-256) and the replay cache (each proof has its own
// jti, as real ones do). Proofs are made with the timer stopped.
//
//	go test -run x -bench VerifyES256 -benchmem ./internal/dpop
func BenchmarkVerifyES256(b *testing.B) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	const u = "https://id.example.com/oauth2/token"
	v, err := NewVerifier(Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	proofs := make([]string, b.N)
	for i := range proofs {
		if proofs[i], err = NewProof(key, "ES256", ProofClaims{Method: http.MethodPost, URL: u}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.StartTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Verify(proofs[i], Check{Method: http.MethodPost, URL: u}); err != nil {
			b.Fatal(err)
		}
	}
}

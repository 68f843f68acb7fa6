package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const target = "https://as.example.com/oauth2/token"

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func proof(t *testing.T, k *ecdsa.PrivateKey, c ProofClaims) string {
	t.Helper()
	p, err := NewProof(k, "ES256", c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func verifier(t *testing.T, now func() time.Time) *Verifier {
	t.Helper()
	v, err := NewVerifier(Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustRefuse(t *testing.T, err error, code string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("want %s, got %v", code, err)
	}
}

func TestVerifyAcceptsAndBindsKey(t *testing.T) {
	k := newKey(t)
	v := verifier(t, nil)
	p, err := v.Verify(proof(t, k, ProofClaims{Method: "POST", URL: target}), Check{Method: "POST", URL: target})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Thumbprint(&k.PublicKey)
	if p.JKT != want || len(want) != 43 {
		t.Fatalf("jkt %q, want %q", p.JKT, want)
	}
}

// RFC 7638 §3.1's example key and thumbprint.
func TestThumbprintRFC7638Example(t *testing.T) {
	raw := `{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`
	var k jose.JSONWebKey
	if err := json.Unmarshal([]byte(raw), &k); err != nil {
		t.Fatal(err)
	}
	got, err := Thumbprint(k.Key)
	if err != nil {
		t.Fatal(err)
	}
	if got != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Fatalf("thumbprint %s", got)
	}
}

func TestVerifyRefuses(t *testing.T) {
	k := newKey(t)
	other := newKey(t)
	otherJKT, _ := Thumbprint(&other.PublicKey)
	now := time.Now()
	good := ProofClaims{Method: "POST", URL: target}
	cases := []struct {
		name  string
		proof func() string
		check Check
	}{
		{"another method", func() string { return proof(t, k, ProofClaims{Method: "GET", URL: target}) }, Check{Method: "POST", URL: target}},
		{"another URL", func() string { return proof(t, k, ProofClaims{Method: "POST", URL: "https://as.example.com/userinfo"}) }, Check{Method: "POST", URL: target}},
		{"another host", func() string {
			return proof(t, k, ProofClaims{Method: "POST", URL: "https://evil.example.com/oauth2/token"})
		}, Check{Method: "POST", URL: target}},
		{"stale iat", func() string {
			return proof(t, k, ProofClaims{Method: "POST", URL: target, IssuedAt: now.Add(-DefaultWindow - 2*time.Second)})
		}, Check{Method: "POST", URL: target}},
		{"iat in the future", func() string {
			return proof(t, k, ProofClaims{Method: "POST", URL: target, IssuedAt: now.Add(FutureSkew + 5*time.Second)})
		}, Check{Method: "POST", URL: target}},
		{"ath missing", func() string { return proof(t, k, good) }, Check{Method: "POST", URL: target, AccessToken: "tok"}},
		{"wrong ath", func() string { return proof(t, k, ProofClaims{Method: "POST", URL: target, AccessToken: "other"}) }, Check{Method: "POST", URL: target, AccessToken: "tok"}},
		{"bound to another key", func() string { return proof(t, k, good) }, Check{Method: "POST", URL: target, JKT: otherJKT}},
		{"garbage", func() string { return "a.b.c" }, Check{Method: "POST", URL: target}},
		{"too large", func() string { return strings.Repeat("a", MaxProofSize+1) }, Check{Method: "POST", URL: target}},
		{"typ JWT", func() string { return sign(t, k, "ES256", "JWT", jose.JSONWebKey{Key: &k.PublicKey}, claims(now)) }, Check{Method: "POST", URL: target}},
		{"no jwk", func() string { return sign(t, k, "ES256", "dpop+jwt", jose.JSONWebKey{}, claims(now)) }, Check{Method: "POST", URL: target}},
		{"jwk of another key", func() string {
			return sign(t, k, "ES256", "dpop+jwt", jose.JSONWebKey{Key: &other.PublicKey}, claims(now))
		}, Check{Method: "POST", URL: target}},
		{"private jwk", func() string { return sign(t, k, "ES256", "dpop+jwt", jose.JSONWebKey{Key: k}, claims(now)) }, Check{Method: "POST", URL: target}},
		{"no jti", func() string {
			c := claims(now)
			delete(c, "jti")
			return sign(t, k, "ES256", "dpop+jwt", jose.JSONWebKey{Key: &k.PublicKey}, c)
		}, Check{Method: "POST", URL: target}},
		{"HMAC", func() string { return signHS(t, claims(now)) }, Check{Method: "POST", URL: target}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verifier(t, nil).Verify(tc.proof(), tc.check)
			mustRefuse(t, err, CodeInvalidProof)
		})
	}
}

func claims(now time.Time) map[string]any {
	return map[string]any{"jti": strconv.FormatInt(now.UnixNano(), 36), "htm": "POST", "htu": target, "iat": now.Unix()}
}

func sign(t *testing.T, k *ecdsa.PrivateKey, alg, typ string, jwk jose.JSONWebKey, c map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
	if jwk.Key != nil {
		opts = opts.WithHeader("jwk", jwk)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: k}, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(c)
	jws, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := jws.CompactSerialize()
	return out
}

func signHS(t *testing.T, c map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")},
		(&jose.SignerOptions{}).WithType("dpop+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(c)
	jws, _ := s.Sign(b)
	out, _ := jws.CompactSerialize()
	return out
}

func TestVerifyRefusesReplay(t *testing.T) {
	k := newKey(t)
	v := verifier(t, nil)
	p := proof(t, k, ProofClaims{Method: "POST", URL: target})
	if _, err := v.Verify(p, Check{Method: "POST", URL: target}); err != nil {
		t.Fatal(err)
	}
	_, err := v.Verify(p, Check{Method: "POST", URL: target})
	mustRefuse(t, err, CodeInvalidProof)
}

// Concurrent presentations of one proof: exactly one wins.
func TestVerifyReplayConcurrent(t *testing.T) {
	k := newKey(t)
	v := verifier(t, nil)
	p := proof(t, k, ProofClaims{Method: "POST", URL: target})
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := v.Verify(p, Check{Method: "POST", URL: target}); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d of 16 concurrent replays accepted", ok)
	}
}

func TestVerifyOtherAlgorithms(t *testing.T) {
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	v := verifier(t, nil)
	for _, tc := range []struct {
		name string
		alg  string
		key  crypto.Signer
		ok   bool
	}{{"EdDSA", "EdDSA", ed, true}, {"RS256", "RS256", rk, true}, {"PS256", "PS256", rk, true}, {"RSA-1024", "RS256", small, false}} {
		p, err := NewProof(tc.key, tc.alg, ProofClaims{Method: "POST", URL: target})
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Verify(p, Check{Method: "POST", URL: target})
		if (err == nil) != tc.ok {
			t.Errorf("%s: accepted=%v, want %v (%v)", tc.name, err == nil, tc.ok, err)
		}
	}
}

func TestNormalizeHTU(t *testing.T) {
	for in, want := range map[string]string{
		"https://AS.example.com:443/oauth2/token?x=1#f": "https://as.example.com/oauth2/token",
		"http://127.0.0.1:8080/userinfo":                "http://127.0.0.1:8080/userinfo",
		"HTTPS://as.example.com":                        "https://as.example.com/",
		"http://[::1]:80/a":                             "http://[::1]/a",
	} {
		got, err := NormalizeHTU(in)
		if err != nil || got != want {
			t.Errorf("NormalizeHTU(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := NormalizeHTU("/relative"); err == nil {
		t.Error("a relative URL was accepted")
	}
}

func TestNonce(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	n, err := NewNonces(nil, time.Minute, clock)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(Options{Nonces: n, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	k := newKey(t)
	_, err = v.Verify(proof(t, k, ProofClaims{Method: "POST", URL: target, IssuedAt: now}), Check{Method: "POST", URL: target})
	if !IsNonceError(err) {
		t.Fatalf("proof without nonce: %v", err)
	}
	_, err = v.Verify(proof(t, k, ProofClaims{Method: "POST", URL: target, IssuedAt: now, Nonce: "forged"}), Check{Method: "POST", URL: target})
	if !IsNonceError(err) {
		t.Fatalf("forged nonce: %v", err)
	}
	if _, err := v.Verify(proof(t, k, ProofClaims{Method: "POST", URL: target, IssuedAt: now, Nonce: n.Current()}), Check{Method: "POST", URL: target}); err != nil {
		t.Fatalf("current nonce: %v", err)
	}
	old := n.Current()
	now = now.Add(3 * time.Minute)
	if n.Valid(old) {
		t.Fatal("a nonce two periods old is still valid")
	}
}

func TestReplayCacheBounded(t *testing.T) {
	now := time.Now()
	c := NewReplayCache(4, func() time.Time { return now })
	exp := now.Add(time.Minute)
	for i := range 10 {
		if !c.Claim("k"+strconv.Itoa(i), exp.Add(time.Duration(i)*time.Second)) {
			t.Fatalf("fresh key %d refused", i)
		}
	}
	if c.Len() > 4 {
		t.Fatalf("cache holds %d > 4", c.Len())
	}
	// k0 was dropped while live: its replay must still be refused.
	if c.Claim("k0", exp) {
		t.Fatal("a dropped, still-live key was accepted again")
	}
	if !c.Claim("fresh", exp.Add(time.Hour)) {
		t.Fatal("a newer proof was refused")
	}
	// Everything expires.
	now = now.Add(2 * time.Hour)
	if !c.Claim("k0", now.Add(time.Minute)) {
		t.Fatal("an expired key is still refused")
	}
}

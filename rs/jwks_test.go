package rs

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

func TestKeyRotationPickedUpWithoutRestart(t *testing.T) {
	iss := newTestIssuer(t)
	v := newVerifier(t, iss, nil)
	if n := iss.jwksFetches.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times at start, want 1", n)
	}
	oldTok := iss.token(jose.ES256, nil)

	fresh := iss.addKey(jose.ES256) // the issuer rotates
	newTok := iss.sign(fresh, "at+jwt", iss.claims())
	if _, err := v.Authenticate(context.Background(), newTok); err != nil {
		t.Fatalf("token signed with the rotated-in key refused: %v", err)
	}
	if n := iss.jwksFetches.Load(); n != 2 {
		t.Errorf("JWKS fetched %d times, want 2 (one refresh for the new kid)", n)
	}
	// Both keys are still published, so the old token keeps working without
	// another fetch.
	if _, err := v.Authenticate(context.Background(), oldTok); err != nil {
		t.Errorf("token signed with the previous key refused: %v", err)
	}
	if n := iss.jwksFetches.Load(); n != 2 {
		t.Errorf("JWKS fetched %d times, want still 2", n)
	}
}

func TestUnknownKidRefreshIsRateLimited(t *testing.T) {
	iss := newTestIssuer(t)
	clk := newClock()
	v := newVerifier(t, iss, func(c *Config) { c.Now = clk.Now; c.JWKSRefreshMinInterval = 10 * time.Second })

	// A flood of tokens with random kids, concurrently and sequentially.
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := v.Authenticate(context.Background(), iss.sign(newKey(t, jose.ES256), "at+jwt", iss.claims()))
			if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("unknown kid: err = %v, want ErrInvalidToken", err)
			}
		}()
	}
	wg.Wait()
	if n := iss.jwksFetches.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times for 50 unknown kids, want 2 (start + one refresh)", n)
	}

	// A genuine rotation inside the interval is not seen yet…
	fresh := iss.addKey(jose.ES256)
	tok := iss.sign(fresh, "at+jwt", iss.claims())
	if _, err := v.Authenticate(context.Background(), tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("new kid within the interval: err = %v, want refusal", err)
	}
	// …and is picked up once the interval has passed.
	clk.Advance(11 * time.Second)
	if _, err := v.Authenticate(context.Background(), tok); err != nil {
		t.Fatalf("new kid after the interval: %v", err)
	}
	if n := iss.jwksFetches.Load(); n != 3 {
		t.Errorf("JWKS fetched %d times, want 3", n)
	}
}

func TestJWKSRefreshedAfterTTL(t *testing.T) {
	iss := newTestIssuer(t)
	clk := newClock()
	v := newVerifier(t, iss, func(c *Config) { c.Now = clk.Now; c.JWKSTTL = time.Minute })
	retired := iss.key(jose.RS256)
	tok := iss.token(jose.RS256, func(c map[string]any) { c["exp"] = time.Now().Add(time.Hour).Unix() })
	if _, err := v.Authenticate(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	iss.unpublish(retired)
	clk.Advance(30 * time.Second)
	if _, err := v.Authenticate(context.Background(), tok); err != nil {
		t.Fatalf("within the TTL the cached key must still verify: %v", err)
	}
	clk.Advance(31 * time.Second)
	if _, err := v.Authenticate(context.Background(), tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("after the TTL a retired key must be gone: err = %v", err)
	}
	if n := iss.jwksFetches.Load(); n != 2 {
		t.Errorf("JWKS fetched %d times, want 2", n)
	}
}

func TestIssuerOutageKeepsCachedKeys(t *testing.T) {
	iss := newTestIssuer(t)
	clk := newClock()
	v := newVerifier(t, iss, func(c *Config) { c.Now = clk.Now; c.JWKSTTL = time.Minute })
	tok := iss.token(jose.ES256, func(c map[string]any) { c["exp"] = time.Now().Add(time.Hour).Unix() })
	iss.srv.Close()
	clk.Advance(2 * time.Minute)
	if _, err := v.Authenticate(context.Background(), tok); err != nil {
		t.Fatalf("stale keys must keep verifying while the issuer is down: %v", err)
	}
	_, err := v.Authenticate(context.Background(), iss.sign(newKey(t, jose.ES256), "at+jwt", iss.claims()))
	if !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("unknown kid during outage (refresh budget spent): err = %v", err)
	}
}

func TestNewVerifierRejectsBadConfig(t *testing.T) {
	iss := newTestIssuer(t)
	lying := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"issuer": iss.URL, "jwks_uri": iss.URL + "/jwks"})
	}))
	t.Cleanup(lying.Close)
	symmetric := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "k", Algorithm: "HS256"}}})
	}))
	t.Cleanup(symmetric.Close)

	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"no issuer", Config{Audience: "a"}, "Issuer is required"},
		{"no audience", Config{Issuer: iss.URL}, "Audience is required"},
		{"HMAC algorithm", Config{Issuer: iss.URL, Audience: "a", Algorithms: []string{"HS256"}}, `"HS256" is not allowed`},
		{"none algorithm", Config{Issuer: iss.URL, Audience: "a", Algorithms: []string{"none"}}, `"none" is not allowed`},
		{"metadata names another issuer", Config{Issuer: lying.URL, Audience: "a"}, "names issuer"},
		{"issuer unreachable", Config{Issuer: "http://127.0.0.1:1", Audience: "a"}, "127.0.0.1:1"},
		{"JWKS holds only a symmetric key", Config{Issuer: iss.URL, Audience: "a", JWKSURL: symmetric.URL}, "no usable signing keys"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewVerifier(context.Background(), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
			}
		})
	}
}

func TestDiscoveryFallsBackToRFC8414(t *testing.T) {
	iss := newTestIssuer(t)
	mux := http.NewServeMux()
	var base string
	mux.HandleFunc("GET /.well-known/oauth-authorization-server/tenant", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"issuer": base + "/tenant", "jwks_uri": iss.URL + "/jwks"})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	base = srv.URL
	v, err := NewVerifier(context.Background(), Config{Issuer: base + "/tenant", Audience: testAudience})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	tok := iss.token(jose.ES256, func(c map[string]any) { c["iss"] = base + "/tenant" })
	if _, err := v.Authenticate(context.Background(), tok); err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
}

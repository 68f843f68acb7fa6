package upstream

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// provider is a minimal OpenID provider over real HTTP whose signing key
// the test rotates, and whose next ID token's claims the test shapes.
type provider struct {
	srv       *httptest.Server
	mu        sync.Mutex
	key       jose.JSONWebKey // current signing key (private)
	published []jose.JSONWebKey
	claims    map[string]any // next ID token's extra or overriding claims
	jwksHits  atomic.Int32
}

func newKey(t *testing.T, kid string) jose.JSONWebKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return jose.JSONWebKey{Key: k, KeyID: kid, Algorithm: "ES256", Use: "sig"}
}

func newProvider(t *testing.T) *provider {
	p := &provider{}
	p.rotate(t, "k1")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": p.srv.URL, "authorization_endpoint": p.srv.URL + "/authorize",
			"token_endpoint": p.srv.URL + "/token", "jwks_uri": p.srv.URL + "/jwks"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		p.jwksHits.Add(1)
		p.mu.Lock()
		defer p.mu.Unlock()
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: p.published})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: p.key}, (&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			t.Error(err)
			return
		}
		c := map[string]any{"iss": p.srv.URL, "aud": "client-1", "sub": "user-1", "exp": time.Now().Add(time.Minute).Unix(),
			"iat": time.Now().Unix(), "nonce": r.PostFormValue("code"), "email": "u@example.com", "email_verified": true}
		for k, v := range p.claims {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		tok, err := jwt.Signed(sig).Claims(c).Serialize()
		if err != nil {
			t.Error(err)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "id_token": tok})
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// rotate signs with a new key from now on; the JWKS publishes only it.
func (p *provider) rotate(t *testing.T, kid string) {
	k := newKey(t, kid)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.key, p.published = k, []jose.JSONWebKey{k.Public()}
}

func (p *provider) next(claims map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.claims = claims
}

// finish runs Finish with the nonce as the code (the provider echoes it).
func finish(u Redirect, nonce string) (Identity, error) {
	return u.Finish(context.Background(), Attempt{State: "s", Nonce: nonce, Verifier: "v", RedirectURI: "http://rp.test/cb"},
		url.Values{"code": {nonce}})
}

func TestOIDCKeyRolloverAndClaimChecks(t *testing.T) {
	p := newProvider(t)
	now := time.Now()
	var clock atomic.Int64
	up, err := New(Config{ID: "x", Name: "X", Type: "oidc", Issuer: p.srv.URL, ClientID: "client-1", ClientSecret: "s"},
		Options{JWKSRefresh: 10 * time.Second, Now: func() time.Time { return now.Add(time.Duration(clock.Load())) }})
	if err != nil {
		t.Fatal(err)
	}
	rd := up.(Redirect)

	id, err := finish(rd, "n1")
	if err != nil || id.Subject != "user-1" || id.Email != "u@example.com" || !id.EmailVerified {
		t.Fatalf("first sign-in: %+v, %v", id, err)
	}
	if h := p.jwksHits.Load(); h != 1 {
		t.Fatalf("JWKS fetched %d times, want 1", h)
	}
	if _, err := finish(rd, "n2"); err != nil || p.jwksHits.Load() != 1 {
		t.Fatalf("second sign-in: %v; JWKS fetched %d times, want still 1 (cached)", err, p.jwksHits.Load())
	}

	// The provider rolls its key over: a token with an unknown kid fetches
	// the JWKS again once JWKSRefresh has passed since the last fetch.
	p.rotate(t, "k2")
	clock.Store(int64(11 * time.Second))
	if _, err := finish(rd, "n3"); err != nil {
		t.Fatalf("after rollover: %v", err)
	}
	if h := p.jwksHits.Load(); h != 2 {
		t.Fatalf("JWKS fetched %d times after rollover, want 2", h)
	}
	// Tokens with ever new kids cannot make us fetch more often than that.
	p.rotate(t, "k3")
	for i := 0; i < 5; i++ {
		if _, err := finish(rd, "n4"); !errors.Is(err, ErrRefused) {
			t.Fatalf("unknown kid within the refresh interval: %v, want ErrRefused", err)
		}
	}
	if h := p.jwksHits.Load(); h != 2 {
		t.Errorf("JWKS fetched %d times, want 2: refetching is rate limited", h)
	}
	clock.Store(int64(22 * time.Second))
	if _, err := finish(rd, "n5"); err != nil {
		t.Fatalf("after the interval: %v", err)
	}

	for _, tt := range []struct {
		name   string
		claims map[string]any
		nonce  string
		want   string
	}{
		{"wrong audience", map[string]any{"aud": "someone-else"}, "n", "aud"},
		{"several audiences without azp", map[string]any{"aud": []string{"client-1", "other"}}, "n", "azp"},
		{"azp of another client", map[string]any{"azp": "other"}, "n", "azp"},
		{"wrong issuer", map[string]any{"iss": "https://evil.test"}, "n", "iss"},
		{"expired", map[string]any{"exp": now.Add(-time.Hour).Unix()}, "n", "expired"},
		{"no exp", map[string]any{"exp": nil}, "n", "expired"},
		{"issued in the future", map[string]any{"iat": now.Add(time.Hour).Unix()}, "n", "future"},
		{"wrong nonce", map[string]any{"nonce": "other"}, "n", "nonce"},
		{"no sub", map[string]any{"sub": nil}, "n", "sub"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p.next(tt.claims)
			defer p.next(nil)
			_, err := finish(rd, tt.nonce)
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrRefused mentioning %q", err, tt.want)
			}
		})
	}
	p.next(map[string]any{"aud": []string{"client-1", "other"}, "azp": "client-1"})
	if _, err := finish(rd, "n"); err != nil {
		t.Errorf("several audiences with our azp: %v", err)
	}
}

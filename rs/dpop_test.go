package rs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sesameauth/sesame/internal/dpop"
)

func proofKey(t *testing.T) (*ecdsa.PrivateKey, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jkt, err := dpop.Thumbprint(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k, jkt
}

func mkProof(t *testing.T, k *ecdsa.PrivateKey, c dpop.ProofClaims) string {
	t.Helper()
	p, err := dpop.NewProof(k, "ES256", c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// callDPoP sends GET http://api.example/things with the given headers.
func callDPoP(t *testing.T, h http.Handler, authz, proof string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "http://api.example/things?page=2", nil)
	req.Header.Set("Authorization", authz)
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Header().Get("WWW-Authenticate")
}

func TestMiddlewareDPoP(t *testing.T) {
	iss := newTestIssuer(t)
	key, jkt := proofKey(t)
	other, _ := proofKey(t)
	d, err := NewDPoP(DPoPConfig{})
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, iss, nil)
	h := Middleware(NewAuthenticator(v, newIntrospector(t, iss, nil)), WithDPoP(d))(echo)
	bound := iss.token(jose.ES256, func(c map[string]any) { c["cnf"] = map[string]any{"jkt": jkt} })
	opaqueResp := iss.activeOpaque()
	opaqueResp["cnf"] = map[string]any{"jkt": jkt}
	opaque := iss.issueOpaque(opaqueResp)
	plain := iss.token(jose.ES256, nil)
	const u = "http://api.example/things"

	for name, tok := range map[string]string{"jwt": bound, "introspected": opaque} {
		good := mkProof(t, key, dpop.ProofClaims{Method: http.MethodGet, URL: u, AccessToken: tok})
		if code, ch := callDPoP(t, h, "DPoP "+tok, good); code != http.StatusOK {
			t.Fatalf("%s: bound token with a good proof: %d %s", name, code, ch)
		}
		cases := []struct {
			name, authz, proof, wantErr string
		}{
			{"replayed proof", "DPoP " + tok, good, "invalid_dpop_proof"},
			{"presented as Bearer", "Bearer " + tok, "", "invalid_token"},
			{"presented as Bearer with a proof", "Bearer " + tok, mkProof(t, key, dpop.ProofClaims{Method: http.MethodGet, URL: u, AccessToken: tok}), "invalid_token"},
			{"no proof", "DPoP " + tok, "", "invalid_dpop_proof"},
			{"wrong ath", "DPoP " + tok, mkProof(t, key, dpop.ProofClaims{Method: http.MethodGet, URL: u, AccessToken: plain}), "invalid_dpop_proof"},
			{"another URL", "DPoP " + tok, mkProof(t, key, dpop.ProofClaims{Method: http.MethodGet, URL: "http://api.example/other", AccessToken: tok}), "invalid_dpop_proof"},
			{"another method", "DPoP " + tok, mkProof(t, key, dpop.ProofClaims{Method: http.MethodPost, URL: u, AccessToken: tok}), "invalid_dpop_proof"},
			{"stale iat", "DPoP " + tok, mkProof(t, key, dpop.ProofClaims{Method: http.MethodGet, URL: u, AccessToken: tok, IssuedAt: time.Now().Add(-10 * time.Minute)}), "invalid_dpop_proof"},
			{"another key", "DPoP " + tok, mkProof(t, other, dpop.ProofClaims{Method: http.MethodGet, URL: u, AccessToken: tok}), "invalid_dpop_proof"},
		}
		for _, tc := range cases {
			code, ch := callDPoP(t, h, tc.authz, tc.proof)
			if code != http.StatusUnauthorized || !strings.HasPrefix(ch, "DPoP ") || !strings.Contains(ch, `error="`+tc.wantErr+`"`) || !strings.Contains(ch, `algs="ES256`) {
				t.Errorf("%s, %s: %d %q, want 401 DPoP error=%s", name, tc.name, code, ch, tc.wantErr)
			}
		}
	}

	// Unbound tokens: Bearer as before; the DPoP scheme is refused.
	if code, ch := callDPoP(t, h, "Bearer "+plain, ""); code != http.StatusOK {
		t.Fatalf("unbound bearer token: %d %s", code, ch)
	}
	if code, ch := callDPoP(t, h, "DPoP "+plain, mkProof(t, key, dpop.ProofClaims{Method: http.MethodGet, URL: u, AccessToken: plain})); code != http.StatusUnauthorized {
		t.Fatalf("unbound token with the DPoP scheme: %d %s", code, ch)
	}
}

// Without WithDPoP the default checker still refuses a bound token
// presented as Bearer; PublicURL sets the htu behind a proxy.
func TestMiddlewareDPoPDefaultsAndPublicURL(t *testing.T) {
	iss := newTestIssuer(t)
	key, jkt := proofKey(t)
	tok := iss.token(jose.ES256, func(c map[string]any) { c["cnf"] = map[string]any{"jkt": jkt} })
	h := Middleware(newVerifier(t, iss, nil))(echo)
	if code, _ := callDPoP(t, h, "Bearer "+tok, ""); code != http.StatusUnauthorized {
		t.Fatalf("bound token as Bearer with the default checker: %d", code)
	}
	d, err := NewDPoP(DPoPConfig{PublicURL: "https://api.example.com/"})
	if err != nil {
		t.Fatal(err)
	}
	h2 := Middleware(newVerifier(t, iss, nil), WithDPoP(d))(echo)
	if code, _ := callDPoP(t, h2, "DPoP "+tok, mkProof(t, key, dpop.ProofClaims{Method: http.MethodGet, URL: "http://api.example/things", AccessToken: tok})); code != http.StatusUnauthorized {
		t.Fatalf("proof for the internal URL accepted behind PublicURL: %d", code)
	}
	if code, ch := callDPoP(t, h2, "DPoP "+tok, mkProof(t, key, dpop.ProofClaims{Method: http.MethodGet, URL: "https://api.example.com/things", AccessToken: tok})); code != http.StatusOK {
		t.Fatalf("proof for the public URL: %d %s", code, ch)
	}
}

package oauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/dpop"
	"github.com/sesameauth/sesame/storage"
)

// dpopKey is a client's proof key.
type dpopKey struct {
	t   *testing.T
	key *ecdsa.PrivateKey
	jkt string
}

func newDPoPKey(t *testing.T) *dpopKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jkt, err := dpop.Thumbprint(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return &dpopKey{t: t, key: k, jkt: jkt}
}

func (k *dpopKey) proof(c dpop.ProofClaims) string {
	k.t.Helper()
	p, err := dpop.NewProof(k.key, "ES256", c)
	if err != nil {
		k.t.Fatal(err)
	}
	return p
}

// postDPoP posts a token request with a DPoP header (none when proof is "").
func (e *env) postDPoP(form url.Values, proof, user, pass string) response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+PathToken, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	return e.do(req)
}

func (e *env) tokenProof(k *dpopKey) string {
	return k.proof(dpop.ProofClaims{Method: http.MethodPost, URL: e.srv.URL + PathToken})
}

func mustDPoPBound(t *testing.T, e *env, r response, jkt, callerID, callerSecret string) {
	t.Helper()
	mustToken(t, r)
	if r.str("token_type") != "DPoP" {
		t.Fatalf("token_type %q, want DPoP: %s", r.str("token_type"), r.raw)
	}
	at := r.str("access_token")
	if isJWT(at) {
		_, claims := e.verifyJWT(at)
		if cnfJKT(claims["cnf"]) != jkt {
			t.Fatalf("JWT cnf %v, want jkt %s", claims["cnf"], jkt)
		}
	}
	in := e.introspect(at, callerID, callerSecret)
	if in.body["active"] != true || in.str("token_type") != "DPoP" || cnfJKT(in.body["cnf"]) != jkt {
		t.Fatalf("introspection of a bound token: %s", in.raw)
	}
}

func TestDPoPClientCredentials(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		for _, format := range []string{FormatJWT, FormatOpaque} {
			t.Run(format, func(t *testing.T) {
				c, sec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}, Scopes: []string{"api"}, AccessTokenFormat: format})
				k := newDPoPKey(t)
				form := url.Values{"grant_type": {"client_credentials"}, "scope": {"api"}}

				mustDPoPBound(t, e, e.postDPoP(form, e.tokenProof(k), c.ID, sec), k.jkt, c.ID, sec)

				// Without a proof: a plain bearer token, no cnf.
				r := e.postDPoP(form, "", c.ID, sec)
				mustToken(t, r)
				if !strings.EqualFold(r.str("token_type"), "bearer") {
					t.Fatalf("token_type %q without a proof", r.str("token_type"))
				}
				if in := e.introspect(r.str("access_token"), c.ID, sec); in.body["cnf"] != nil || in.str("token_type") != "Bearer" {
					t.Fatalf("unbound token introspects as %s", in.raw)
				}

				tokenURL := e.srv.URL + PathToken
				replayed := e.tokenProof(k)
				mustToken(t, e.postDPoP(form, replayed, c.ID, sec))
				for name, proof := range map[string]string{
					"replayed":       replayed,
					"another URL":    k.proof(dpop.ProofClaims{Method: http.MethodPost, URL: e.srv.URL + "/userinfo"}),
					"another method": k.proof(dpop.ProofClaims{Method: http.MethodGet, URL: tokenURL}),
					"stale iat":      k.proof(dpop.ProofClaims{Method: http.MethodPost, URL: tokenURL, IssuedAt: time.Now().Add(-5 * time.Minute)}),
					"not a JWS":      "not-a-proof",
				} {
					r := e.postDPoP(form, proof, c.ID, sec)
					if r.status != http.StatusBadRequest {
						t.Errorf("%s: status %d", name, r.status)
					}
					mustError(t, r, "invalid_dpop_proof")
				}
			})
		}
	})
}

// A public client's refresh token is bound to the proof key (RFC 9449 §5).
func TestDPoPBoundRefreshPublicClient(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		caller, callerSec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}, Scopes: []string{ScopeIntrospect}})
		c, _, cfg := e.codeClient(func(c *storage.Client) { c.Public = true })
		k := newDPoPKey(t)
		verifier, challenge := pkcePair(t)
		code := e.authorize(c.ID, cfg.RedirectURL, "openid offline_access api", challenge, "alice")
		r := e.postDPoP(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {cfg.RedirectURL},
			"code_verifier": {verifier}, "client_id": {c.ID}}, e.tokenProof(k), "", "")
		mustDPoPBound(t, e, r, k.jkt, caller.ID, callerSec)
		rt := r.str("refresh_token")
		if rt == "" {
			t.Fatalf("no refresh token: %s", r.raw)
		}
		if in := e.introspect(rt, caller.ID, callerSec); cnfJKT(in.body["cnf"]) != "" && in.str("token_type") != "refresh_token" {
			t.Fatalf("refresh token introspection: %s", in.raw)
		}
		refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {c.ID}}

		mustError(t, e.postDPoP(refresh, "", "", ""), "invalid_dpop_proof")
		mustError(t, e.postDPoP(refresh, e.tokenProof(newDPoPKey(t)), "", ""), "invalid_dpop_proof")

		// The refused attempts did not spend the token: the right key works.
		r = e.postDPoP(refresh, e.tokenProof(k), "", "")
		mustDPoPBound(t, e, r, k.jkt, caller.ID, callerSec)
		// The new refresh token stays bound.
		refresh.Set("refresh_token", r.str("refresh_token"))
		mustError(t, e.postDPoP(refresh, "", "", ""), "invalid_dpop_proof")
		mustDPoPBound(t, e, e.postDPoP(refresh, e.tokenProof(k), "", ""), k.jkt, caller.ID, callerSec)
	})
}

// A confidential client's refresh token is not bound: the client
// authenticates, and each refresh binds the new access token to the key
// it proves, or to none.
func TestDPoPRefreshConfidentialClient(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		c, sec, cfg := e.codeClient(nil)
		k := newDPoPKey(t)
		verifier, challenge := pkcePair(t)
		code := e.authorize(c.ID, cfg.RedirectURL, "openid offline_access api", challenge, "alice")
		r := e.postDPoP(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {cfg.RedirectURL},
			"code_verifier": {verifier}}, e.tokenProof(k), c.ID, sec)
		mustDPoPBound(t, e, r, k.jkt, c.ID, sec)
		r = e.postDPoP(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.str("refresh_token")}}, "", c.ID, sec)
		mustToken(t, r)
		if !strings.EqualFold(r.str("token_type"), "bearer") {
			t.Fatalf("refresh without a proof: token_type %q", r.str("token_type"))
		}
		k2 := newDPoPKey(t)
		mustDPoPBound(t, e, e.postDPoP(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.str("refresh_token")}}, e.tokenProof(k2), c.ID, sec), k2.jkt, c.ID, sec)
	})
}

func TestDPoPMetadata(t *testing.T) {
	e := newEnv(t, backends[0])
	// RFC 9449 §5.1: the proof algorithms, the verifier's preference first.
	if algs := e.h.Metadata().DPoPSigningAlgValuesSupported; len(algs) == 0 || algs[0] != "ES256" {
		t.Fatalf("DPoPSigningAlgValuesSupported = %v", algs)
	}
}

func mustRequest(t *testing.T, method, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

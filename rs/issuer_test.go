package rs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// testIssuer is a small standards-following authorization server: discovery,
// JWKS and RFC 7662 introspection, signing with go-jose v4. It counts the
// calls it receives so tests can prove caching, single-flight and rate
// limits.
type testIssuer struct {
	t      testing.TB
	srv    *httptest.Server
	URL    string
	client string
	secret string

	jwksFetches    atomic.Int64
	introspections atomic.Int64

	mu        sync.Mutex
	published []*testKey // keys in the JWKS
	opaque    map[string]map[string]any
	revoked   map[string]bool // jti of revoked JWTs
	delay     time.Duration   // added to each introspection
}

type testKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

const testAudience = "https://api.example.test"

func newTestIssuer(t testing.TB) *testIssuer {
	t.Helper()
	iss := &testIssuer{
		t:       t,
		client:  "resource-server",
		secret:  "rs secret/with:odd+chars",
		opaque:  map[string]map[string]any{},
		revoked: map[string]bool{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", iss.discovery)
	mux.HandleFunc("GET /jwks", iss.jwks)
	mux.HandleFunc("POST /introspect", iss.introspect)
	iss.srv = httptest.NewServer(mux)
	t.Cleanup(iss.srv.Close)
	iss.URL = iss.srv.URL
	iss.addKey(jose.RS256)
	iss.addKey(jose.ES256)
	iss.addKey(jose.PS256)
	iss.addKey(jose.EdDSA)
	return iss
}

func newKey(t testing.TB, alg jose.SignatureAlgorithm) *testKey {
	t.Helper()
	var priv crypto.Signer
	var err error
	switch alg {
	case jose.RS256, jose.PS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("no key type for %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return &testKey{kid: fmt.Sprintf("%s-%d", alg, time.Now().UnixNano()), alg: alg, priv: priv}
}

// addKey publishes a new key and returns it.
func (i *testIssuer) addKey(alg jose.SignatureAlgorithm) *testKey {
	k := newKey(i.t, alg)
	i.mu.Lock()
	i.published = append(i.published, k)
	i.mu.Unlock()
	return k
}

// key returns the newest published key for alg.
func (i *testIssuer) key(alg jose.SignatureAlgorithm) *testKey {
	i.mu.Lock()
	defer i.mu.Unlock()
	for j := len(i.published) - 1; j >= 0; j-- {
		if i.published[j].alg == alg {
			return i.published[j]
		}
	}
	i.t.Fatalf("no key for %s", alg)
	return nil
}

// unpublish removes k from the JWKS (the end of a rotation).
func (i *testIssuer) unpublish(k *testKey) {
	i.mu.Lock()
	defer i.mu.Unlock()
	for j, p := range i.published {
		if p == k {
			i.published = append(i.published[:j], i.published[j+1:]...)
			return
		}
	}
}

func (i *testIssuer) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{
		"issuer":                 i.URL,
		"jwks_uri":               i.URL + "/jwks",
		"introspection_endpoint": i.URL + "/introspect",
	})
}

func (i *testIssuer) jwks(w http.ResponseWriter, _ *http.Request) {
	i.jwksFetches.Add(1)
	i.mu.Lock()
	set := jose.JSONWebKeySet{}
	for _, k := range i.published {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"})
	}
	i.mu.Unlock()
	writeJSON(w, set)
}

func (i *testIssuer) introspect(w http.ResponseWriter, r *http.Request) {
	i.introspections.Add(1)
	i.mu.Lock()
	delay := i.delay
	i.mu.Unlock()
	time.Sleep(delay)
	id, secret, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(id), []byte(escape(i.client))) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(escape(i.secret))) != 1 {
		w.WriteHeader(http.StatusUnauthorized)
		writeJSON(w, map[string]string{"error": "invalid_client"})
		return
	}
	token := r.PostFormValue("token")
	i.mu.Lock()
	resp, known := i.opaque[token]
	i.mu.Unlock()
	if known {
		writeJSON(w, resp)
		return
	}
	writeJSON(w, i.introspectJWT(token))
}

// introspectJWT answers for our own JWTs, honouring the jti denylist.
func (i *testIssuer) introspectJWT(token string) map[string]any {
	inactive := map[string]any{"active": false}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.PS256, jose.EdDSA})
	if err != nil || len(tok.Headers) != 1 {
		return inactive
	}
	i.mu.Lock()
	var key crypto.PublicKey
	for _, k := range i.published {
		if k.kid == tok.Headers[0].KeyID {
			key = k.priv.Public()
		}
	}
	i.mu.Unlock()
	var claims map[string]any
	var std jwt.Claims
	if key == nil || tok.Claims(key, &claims, &std) != nil || std.ValidateWithLeeway(jwt.Expected{Time: time.Now()}, 0) != nil {
		return inactive
	}
	i.mu.Lock()
	revoked := i.revoked[std.ID]
	i.mu.Unlock()
	if revoked {
		return inactive
	}
	claims["active"] = true
	return claims
}

func escape(s string) string {
	// client_secret_basic form-encodes before base64 (RFC 6749 §2.3.1).
	return url.QueryEscape(s)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// claims returns a valid RFC 9068 claim set for testAudience.
func (i *testIssuer) claims() map[string]any {
	now := time.Now()
	return map[string]any{
		"iss":                i.URL,
		"sub":                "user-123",
		"aud":                []string{testAudience, "other-api"},
		"exp":                now.Add(5 * time.Minute).Unix(),
		"iat":                now.Unix(),
		"jti":                fmt.Sprintf("jti-%d", now.UnixNano()),
		"client_id":          "web-app",
		"scope":              "openid api:read",
		"preferred_username": "alice",
	}
}

// sign makes a compact JWS with k; typ "" omits the header.
func (i *testIssuer) sign(k *testKey, typ string, claims map[string]any) string {
	i.t.Helper()
	return signWith(i.t, jose.SigningKey{Algorithm: k.alg, Key: k.priv}, k.kid, typ, claims)
}

func signWith(t testing.TB, key jose.SigningKey, kid, typ string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithHeader(jose.HeaderKey("kid"), kid)
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	signer, err := jose.NewSigner(key, opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// token is a valid at+jwt signed with the newest key for alg.
func (i *testIssuer) token(alg jose.SignatureAlgorithm, edit func(map[string]any)) string {
	c := i.claims()
	if edit != nil {
		edit(c)
	}
	return i.sign(i.key(alg), "at+jwt", c)
}

// issueOpaque registers an opaque token with its introspection response.
func (i *testIssuer) issueOpaque(resp map[string]any) string {
	buf := make([]byte, 24)
	_, _ = rand.Read(buf)
	tok := "sesame_at_" + base64.RawURLEncoding.EncodeToString(buf)
	i.mu.Lock()
	i.opaque[tok] = resp
	i.mu.Unlock()
	return tok
}

func (i *testIssuer) activeOpaque() map[string]any {
	return map[string]any{
		"active":    true,
		"sub":       "user-456",
		"client_id": "cli",
		"username":  "bob",
		"scope":     "api:read api:admin",
		"aud":       []string{testAudience},
		"iss":       i.URL,
		"exp":       time.Now().Add(time.Hour).Unix(),
	}
}

// rsaPublicPEM is the RSA key as a confused verifier would use it as an HMAC
// secret.
func rsaPublicPEM(t testing.TB, k *testKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(k.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// clock is an adjustable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

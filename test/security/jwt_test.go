package security

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/internal/app"
)

var b64 = base64.RawURLEncoding

func jsonSegment(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b64.EncodeToString(raw)
}

// parts decodes the header and claims of a compact JWS.
func parts(t *testing.T, jws string) (header, claims map[string]any) {
	t.Helper()
	seg := strings.Split(jws, ".")
	if len(seg) != 3 {
		t.Fatalf("not a compact JWS: %q", jws)
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		raw, err := b64.DecodeString(seg[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

func signES256(t *testing.T, key *ecdsa.PrivateKey, signingInput string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(signingInput))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return b64.EncodeToString(sig)
}

// TestForgedJWTs presents forged JWT access tokens to the userinfo endpoint
// and to introspection (RFC 8725 §2.1, §3.1; RFC 9068 §4; CVE-2015-9235
// algorithm confusion; CVE-2018-0114 embedded keys). None may be accepted.
func TestForgedJWTs(t *testing.T) {
	s := newServer(t)
	const pw = "correct horse battery"
	s.user("alice", pw)
	app1, sec1 := s.client(app.ClientSpec{Name: "mobile", GrantTypes: []string{"password"}, Scopes: []string{"openid", "profile", "api:read", "api:write"}})
	rs, rssec := s.client(app.ClientSpec{Name: "api", GrantTypes: []string{"client_credentials"}, Scopes: []string{"sesame:introspect"}})

	g := s.passwordGrant(app1.ID, sec1, "alice", pw, "openid profile api:read")
	wantTokens(t, g)
	real := g.str("access_token")
	hdr, claims := parts(t, real)
	kid, _ := hdr["kid"].(string)
	if kid == "" || hdr["typ"] != "at+jwt" {
		t.Fatalf("unexpected access token header %v", hdr)
	}
	escalated := map[string]any{}
	for k, v := range claims {
		escalated[k] = v
	}
	escalated["scope"] = "openid profile api:read api:write sesame:admin"

	// The server's published key for kid, as JWK JSON: the "secret" of an
	// HMAC-confusion attack.
	jwks := s.get("/.well-known/jwks.json")
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(jwks.body, &set); err != nil {
		t.Fatal(err)
	}
	var (
		pub  []byte
		pubX string
	)
	for _, k := range set.Keys {
		if k["kid"] == kid {
			pub, _ = json.Marshal(k)
			pubX, _ = k["x"].(string)
		}
	}
	if pub == nil {
		t.Fatalf("kid %s not in JWKS", kid)
	}
	attacker, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	attackerJWK := map[string]any{"kty": "EC", "crv": "P-256", "kid": "attacker",
		"x": b64.EncodeToString(attacker.PublicKey.X.FillBytes(make([]byte, 32))),
		"y": b64.EncodeToString(attacker.PublicKey.Y.FillBytes(make([]byte, 32)))}

	forge := func(header map[string]any, body map[string]any, sign func(input string) string) string {
		in := jsonSegment(t, header) + "." + jsonSegment(t, body)
		return in + "." + sign(in)
	}
	hs256 := func(key []byte) func(string) string {
		return func(in string) string {
			m := hmac.New(sha256.New, key)
			m.Write([]byte(in))
			return b64.EncodeToString(m.Sum(nil))
		}
	}
	withAttacker := func(in string) string { return signES256(t, attacker, in) }
	realSig := strings.Split(real, ".")[2]

	cases := []struct {
		name  string
		token string
	}{
		{"RFC8725-2.1 alg none with the real kid", forge(map[string]any{"alg": "none", "typ": "at+jwt", "kid": kid}, escalated, func(string) string { return "" })},
		{"RFC8725-2.1 alg NoNe (case variant)", forge(map[string]any{"alg": "NoNe", "typ": "at+jwt", "kid": kid}, claims, func(string) string { return "" })},
		{"CVE-2015-9235 HS256 keyed with the public JWK", forge(map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": kid}, escalated, hs256(pub))},
		{"CVE-2015-9235 HS256 keyed with the public key's x coordinate", forge(map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": kid}, claims, hs256([]byte(pubX)))},
		{"RFC8725-3.1 forged kid: the real kid signed by an attacker key", forge(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": kid}, escalated, withAttacker)},
		{"RFC8725-3.1 unknown kid", forge(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": "does-not-exist"}, claims, withAttacker)},
		{"RFC8725-3.10 kid path traversal", forge(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": "../../../../dev/null"}, claims, withAttacker)},
		{"RFC8725-3.10 kid SQL injection", forge(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": "x' OR '1'='1"}, claims, withAttacker)},
		{"CVE-2018-0114 embedded attacker jwk header", forge(map[string]any{"alg": "ES256", "typ": "at+jwt", "jwk": attackerJWK}, claims, withAttacker)},
		{"RFC8725-3.10 jku pointing at an attacker JWKS", forge(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": "attacker", "jku": "https://evil.example.com/jwks.json"}, claims, withAttacker)},
		{"RFC7515-5.2 escalated claims under the original signature", jsonSegment(t, hdr) + "." + jsonSegment(t, escalated) + "." + realSig},
		{"RFC7515-5.2 signature stripped", strings.Join(strings.Split(real, ".")[:2], ".") + "."},
		{"RFC9068-4 ID token presented as an access token", ""},
	}
	// An ID token from the code flow of a first-party client.
	web, websec := s.webClient("web", true)
	az := newAuthz(t, web, "openid")
	idt := s.exchange(az, s.code(az, "alice", pw), web.ID, websec).str("id_token")
	if idt == "" {
		t.Fatal("no id_token")
	}
	cases[len(cases)-1].token = idt

	if !s.active(real, rs.ID, rssec) {
		t.Fatal("the genuine token is not active: the cases below would prove nothing")
	}
	for _, tc := range cases {
		t.Run(tc.name+" at userinfo", func(t *testing.T) {
			s := s.with(t)
			r := s.userinfo(tc.token)
			wantError(t, r, http.StatusUnauthorized, "invalid_token")
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
			}
		})
		t.Run(tc.name+" at introspection", func(t *testing.T) {
			s := s.with(t)
			r := s.introspect(tc.token, rs.ID, rssec)
			if r.status != http.StatusOK || r.json["active"] != false || len(r.json) != 1 {
				t.Fatalf("introspection %d %s, want exactly {\"active\":false}", r.status, r.body)
			}
		})
	}
}

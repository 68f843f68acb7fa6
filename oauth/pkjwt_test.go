package oauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/sesameauth/sesame/storage"
)

// assertion signs an RFC 7523 client assertion.
func assertion(t *testing.T, key *ecdsa.PrivateKey, kid, clientID, aud, jti string) string {
	t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	out, err := josejwt.Signed(sig).Claims(josejwt.Claims{
		Issuer: clientID, Subject: clientID, Audience: josejwt.Audience{aud}, ID: jti,
		IssuedAt: josejwt.NewNumericDate(now.Add(-5 * time.Second)), Expiry: josejwt.NewNumericDate(now.Add(time.Minute)),
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPrivateKeyJWT(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
		c, _ := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}, Scopes: []string{ScopeIntrospect},
			TokenEndpointAuthMethod: "private_key_jwt", JWKS: string(jwks)})
		tokenURL := e.srv.URL + PathToken
		form := func(a string) url.Values {
			return url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ID},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}}
		}

		a := assertion(t, key, "k1", c.ID, tokenURL, randomString(t))
		r := e.post(PathToken, form(a), "", "")
		mustToken(t, r)
		_, claims := e.verifyJWT(r.str("access_token"))
		if claims["sub"] != c.ID {
			t.Fatalf("sub %v", claims["sub"])
		}
		// RFC 7523 §3: the same assertion (jti) must not be accepted twice.
		mustError(t, e.post(PathToken, form(a), "", ""), "invalid_client")

		other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tests := []struct{ name, assertion string }{
			{"signed by another key", assertion(t, other, "k1", c.ID, tokenURL, randomString(t))},
			{"wrong audience", assertion(t, key, "k1", c.ID, "https://elsewhere/token", randomString(t))},
			{"unknown kid", assertion(t, key, "k2", c.ID, tokenURL, randomString(t))},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := e.post(PathToken, form(tt.assertion), "", "")
				if r.status == 200 || r.str("access_token") != "" {
					t.Fatalf("accepted: %s", r.raw)
				}
				if code := r.str("error"); code != "invalid_client" && code != "invalid_request" {
					t.Fatalf("error %q: %s", code, r.raw)
				}
			})
		}

		// The same client authenticates to introspection with an assertion.
		in := e.post(PathIntrospect, url.Values{"token": {r.str("access_token")}, "client_id": {c.ID},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {assertion(t, key, "k1", c.ID, tokenURL, randomString(t))}}, "", "")
		if in.body["active"] != true {
			t.Fatalf("introspection with private_key_jwt: %d %s", in.status, in.raw)
		}
	})
}

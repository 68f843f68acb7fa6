package oauth

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/sesameauth/sesame/storage"
)

// fetchJWKS gets the published JWKS document, the bytes oidc serves at
// jwks_uri.
func (e *env) fetchJWKS() jose.JSONWebKeySet {
	e.t.Helper()
	body, _, err := e.keys.JWKS(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		e.t.Fatal(err)
	}
	return set
}

// verifyJWT checks a JWT against the published JWKS with go-jose
// v4, independently of our signer, and returns its header and claims.
func (e *env) verifyJWT(token string) (jose.Header, map[string]any) {
	e.t.Helper()
	tok, err := josejwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.PS256, jose.EdDSA})
	if err != nil {
		e.t.Fatalf("parse jwt: %v", err)
	}
	h := tok.Headers[0]
	set := e.fetchJWKS()
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		e.t.Fatalf("kid %q: %d keys in the JWKS", h.KeyID, len(keys))
	}
	claims := map[string]any{}
	if err := tok.Claims(keys[0].Key, &claims); err != nil {
		e.t.Fatalf("verify jwt: %v", err)
	}
	return h, claims
}

func TestClientCredentialsJWT(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		c, sec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}, Scopes: []string{"api:read", "api:write"}})
		cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: sec, TokenURL: e.srv.URL + PathToken, Scopes: []string{"api:read"}, AuthStyle: oauth2.AuthStyleInHeader}
		tok, err := cc.Token(context.Background())
		if err != nil {
			t.Fatalf("client_credentials: %v", err)
		}
		if tok.RefreshToken != "" {
			t.Fatal("client_credentials must never issue a refresh token")
		}
		h, claims := e.verifyJWT(tok.AccessToken)
		if h.ExtraHeaders["typ"] != "at+jwt" || h.KeyID == "" || h.Algorithm != "ES256" {
			t.Fatalf("header: typ=%v kid=%q alg=%q", h.ExtraHeaders["typ"], h.KeyID, h.Algorithm)
		}
		want := map[string]any{"iss": e.srv.URL, "sub": c.ID, "client_id": c.ID, "scope": "api:read"}
		for k, v := range want {
			if claims[k] != v {
				t.Errorf("claim %s = %v, want %v", k, claims[k], v)
			}
		}
		if aud, _ := claims["aud"].([]any); len(aud) != 1 || aud[0] != c.ID {
			t.Errorf("aud = %v, want [client id] when nothing is registered or requested", claims["aud"])
		}
		for _, k := range []string{"exp", "iat", "jti"} {
			if claims[k] == nil {
				t.Errorf("claim %s missing", k)
			}
		}
		if exp := int64(claims["exp"].(float64)); time.Until(time.Unix(exp, 0)) > 16*time.Minute || time.Until(time.Unix(exp, 0)) < 14*time.Minute {
			t.Errorf("exp %d not ~15m ahead", exp)
		}
		in := e.introspect(tok.AccessToken, c.ID, sec)
		if in.body["active"] != true || in.str("jti") != claims["jti"] || in.str("token_type") != "Bearer" || in.str("sub") != c.ID {
			t.Fatalf("introspection of own JWT: %s", in.raw)
		}
		// A scope the client may not request.
		_, err = (&clientcredentials.Config{ClientID: c.ID, ClientSecret: sec, TokenURL: cc.TokenURL, Scopes: []string{"admin"}, AuthStyle: oauth2.AuthStyleInHeader}).Token(context.Background())
		if re, ok := err.(*oauth2.RetrieveError); !ok || re.ErrorCode != "invalid_scope" {
			t.Fatalf("unknown scope: %v", err)
		}
	})
}

func TestClientCredentialsAudience(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		c, sec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}, Audience: []string{"https://api.one", "https://api.two"}})
		tests := []struct {
			name     string
			audience []string
			want     []string
			err      string
		}{
			{"registered audiences by default", nil, []string{"https://api.one", "https://api.two"}, ""},
			{"one requested audience", []string{"https://api.two"}, []string{"https://api.two"}, ""},
			{"audience not registered", []string{"https://evil"}, nil, "invalid_request"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := e.clientCredentials(c.ID, sec, url.Values{"audience": tt.audience})
				if tt.err != "" {
					mustError(t, r, tt.err)
					return
				}
				mustToken(t, r)
				_, claims := e.verifyJWT(r.str("access_token"))
				var got []string
				for _, a := range claims["aud"].([]any) {
					got = append(got, a.(string))
				}
				if !slices.Equal(got, tt.want) {
					t.Fatalf("aud = %v, want %v", got, tt.want)
				}
			})
		}
	})
}

func TestClientCredentialsOpaque(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		// Server default JWT, this client opaque.
		c, sec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}, Scopes: []string{"api:read"}, AccessTokenFormat: FormatOpaque})
		r := e.clientCredentials(c.ID, sec, url.Values{"scope": {"api:read"}})
		mustToken(t, r)
		at := r.str("access_token")
		if !strings.HasPrefix(at, prefixAccessToken) || strings.Count(at, ".") != 1 {
			t.Fatalf("opaque token %q", at)
		}
		in := e.introspect(at, c.ID, sec)
		if in.body["active"] != true || in.str("scope") != "api:read" || in.str("client_id") != c.ID || in.str("sub") != c.ID {
			t.Fatalf("introspection: %s", in.raw)
		}
		if _, ok := in.body["jti"]; ok {
			t.Fatalf("opaque token has a jti in introspection: %s", in.raw)
		}
		// The signature alone is not the token: a forged key part fails.
		forged := prefixAccessToken + "AAAA" + at[strings.IndexByte(at, '.'):]
		if e.active(forged, c.ID, sec) {
			t.Fatal("token with a forged key part is active")
		}
		// And a server whose default is opaque issues opaque tokens to a client without preference.
		e2 := newEnv(t, b, withConfig(func(c *Config) { c.AccessTokenFormat = FormatOpaque }))
		c2, sec2 := e2.createClient(storage.Client{GrantTypes: []string{"client_credentials"}})
		r2 := e2.clientCredentials(c2.ID, sec2, nil)
		mustToken(t, r2)
		if !strings.HasPrefix(r2.str("access_token"), prefixAccessToken) {
			t.Fatalf("server default opaque: got %q", r2.str("access_token"))
		}
		// A client preferring JWT on that server gets a JWT.
		c3, sec3 := e2.createClient(storage.Client{GrantTypes: []string{"client_credentials"}, AccessTokenFormat: FormatJWT})
		r3 := e2.clientCredentials(c3.ID, sec3, nil)
		mustToken(t, r3)
		e2.verifyJWT(r3.str("access_token"))
	})
}

func TestRotatedClientSecret(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		oldSecret := randomString(t)
		c, newSecret := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"},
			RotatedSecretHashes: []string{e.ring.HashClientSecret(oldSecret)}})
		mustToken(t, e.clientCredentials(c.ID, newSecret, nil))
		mustToken(t, e.clientCredentials(c.ID, oldSecret, nil))
		mustError(t, e.clientCredentials(c.ID, oldSecret+"x", nil), "invalid_client")
	})
}

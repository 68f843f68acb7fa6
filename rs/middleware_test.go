package rs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-jose/go-jose/v4"
)

func newVerifier(t testing.TB, iss *testIssuer, mod func(*Config)) *Verifier {
	t.Helper()
	cfg := Config{Issuer: iss.URL, Audience: testAudience}
	if mod != nil {
		mod(&cfg)
	}
	v, err := NewVerifier(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

func newIntrospector(t testing.TB, iss *testIssuer, mod func(*IntrospectionConfig)) *Introspector {
	t.Helper()
	cfg := IntrospectionConfig{Issuer: iss.URL, ClientID: iss.client, ClientSecret: iss.secret, Audience: testAudience}
	if mod != nil {
		mod(&cfg)
	}
	i, err := NewIntrospector(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewIntrospector: %v", err)
	}
	return i
}

// echo answers 200 with the Principal the middleware stored.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	p := FromContext(r.Context())
	if p == nil {
		http.Error(w, "no principal", http.StatusInternalServerError)
		return
	}
	writeJSON(w, p)
})

type result struct {
	status    int
	challenge string
	principal Principal
}

func call(t testing.TB, h http.Handler, authz string) result {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := result{status: rec.Code, challenge: rec.Header().Get("WWW-Authenticate")}
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &res.principal); err != nil {
			t.Fatalf("decode principal: %v", err)
		}
	}
	return res
}

func noneToken(claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "none", "typ": "at+jwt"}) + "." + enc(claims) + "."
}

func TestMiddlewareAcceptsAndRefuses(t *testing.T) {
	iss := newTestIssuer(t)
	auth := NewAuthenticator(newVerifier(t, iss, nil), newIntrospector(t, iss, nil))
	h := Middleware(auth, WithRealm("test"))(echo)

	rsaKey := iss.key(jose.RS256)
	stranger := newKey(t, jose.ES256) // never published
	revoked := iss.activeOpaque()
	revoked["active"] = false
	refresh := iss.activeOpaque()
	refresh["token_type"] = "refresh_token"
	otherAud := iss.activeOpaque()
	otherAud["aud"] = []string{"another-api"}

	tamper := func(tok string) string {
		parts := strings.Split(tok, ".")
		c := iss.claims()
		c["sub"] = "admin"
		b, _ := json.Marshal(c)
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
	}

	tests := []struct {
		name       string
		authz      string
		wantStatus int
		wantChal   string // substring of WWW-Authenticate
		wantSource string
		wantUser   string
	}{
		{name: "RS256 JWT verified locally", authz: "Bearer " + iss.token(jose.RS256, nil), wantStatus: 200, wantSource: SourceJWT, wantUser: "alice"},
		{name: "ES256 JWT verified locally", authz: "Bearer " + iss.token(jose.ES256, nil), wantStatus: 200, wantSource: SourceJWT, wantUser: "alice"},
		{name: "PS256 JWT verified locally", authz: "Bearer " + iss.token(jose.PS256, nil), wantStatus: 200, wantSource: SourceJWT, wantUser: "alice"},
		{name: "EdDSA JWT verified locally", authz: "Bearer " + iss.token(jose.EdDSA, nil), wantStatus: 200, wantSource: SourceJWT, wantUser: "alice"},
		{name: "scheme is case-insensitive", authz: "bearer " + iss.token(jose.ES256, nil), wantStatus: 200, wantSource: SourceJWT, wantUser: "alice"},
		{name: "typ application/at+jwt accepted", authz: "Bearer " + iss.sign(iss.key(jose.ES256), "application/at+jwt", iss.claims()), wantStatus: 200, wantSource: SourceJWT},
		{name: "opaque token introspected", authz: "Bearer " + iss.issueOpaque(iss.activeOpaque()), wantStatus: 200, wantSource: SourceIntrospection, wantUser: "bob"},
		{name: "expired a moment ago, within leeway", authz: "Bearer " + iss.token(jose.ES256, func(c map[string]any) { c["exp"] = time.Now().Add(-10 * time.Second).Unix() }), wantStatus: 200, wantSource: SourceJWT},

		{name: "no Authorization header", wantStatus: 401, wantChal: `Bearer realm="test"`},
		{name: "Basic credentials are not a bearer token", authz: "Basic dXNlcjpwYXNz", wantStatus: 401, wantChal: `Bearer realm="test"`},
		{name: "empty bearer token", authz: "Bearer ", wantStatus: 400, wantChal: `error="invalid_request"`},
		{name: "expired", authz: "Bearer " + iss.token(jose.ES256, func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }), wantStatus: 401, wantChal: `error_description="the token has expired"`},
		{name: "not yet valid", authz: "Bearer " + iss.token(jose.ES256, func(c map[string]any) { c["nbf"] = time.Now().Add(time.Hour).Unix() }), wantStatus: 401, wantChal: `error_description="the token is not valid yet"`},
		{name: "no exp", authz: "Bearer " + iss.token(jose.ES256, func(c map[string]any) { delete(c, "exp") }), wantStatus: 401, wantChal: `no exp claim`},
		{name: "wrong audience", authz: "Bearer " + iss.token(jose.ES256, func(c map[string]any) { c["aud"] = "https://other.example.test" }), wantStatus: 401, wantChal: `not meant for this audience`},
		{name: "wrong issuer", authz: "Bearer " + iss.token(jose.ES256, func(c map[string]any) { c["iss"] = "https://evil.example.test" }), wantStatus: 401, wantChal: `issued by another issuer`},
		{name: "bad signature: stranger's key under a published kid", authz: "Bearer " + signWith(t, jose.SigningKey{Algorithm: jose.ES256, Key: stranger.priv}, iss.key(jose.ES256).kid, "at+jwt", iss.claims()), wantStatus: 401, wantChal: `signature is invalid`},
		{name: "bad signature: payload tampered", authz: "Bearer " + tamper(iss.token(jose.RS256, nil)), wantStatus: 401, wantChal: `signature is invalid`},
		{name: "alg none", authz: "Bearer " + noneToken(iss.claims()), wantStatus: 401, wantChal: `error="invalid_token"`},
		{name: "HS256 signed with the RSA public key", authz: "Bearer " + signWith(t, jose.SigningKey{Algorithm: jose.HS256, Key: rsaPublicPEM(t, rsaKey)}, rsaKey.kid, "at+jwt", iss.claims()), wantStatus: 401, wantChal: `accepted algorithm`},
		{name: "unknown kid", authz: "Bearer " + iss.sign(stranger, "at+jwt", iss.claims()), wantStatus: 401, wantChal: `signing key is unknown`},
		{name: "typ JWT (e.g. an ID token)", authz: "Bearer " + iss.sign(iss.key(jose.ES256), "JWT", iss.claims()), wantStatus: 401, wantChal: `typ header`},
		{name: "no typ", authz: "Bearer " + iss.sign(iss.key(jose.ES256), "", iss.claims()), wantStatus: 401, wantChal: `typ header`},
		{name: "revoked opaque token", authz: "Bearer " + iss.issueOpaque(revoked), wantStatus: 401, wantChal: `error_description="the token is not active"`},
		{name: "unknown opaque token", authz: "Bearer not-a-real-token", wantStatus: 401, wantChal: `not active`},
		{name: "refresh token presented as access token", authz: "Bearer " + iss.issueOpaque(refresh), wantStatus: 401, wantChal: `refresh token`},
		{name: "opaque token for another audience", authz: "Bearer " + iss.issueOpaque(otherAud), wantStatus: 401, wantChal: `audience`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := call(t, h, tc.authz)
			if res.status != tc.wantStatus {
				t.Fatalf("status = %d, want %d (challenge %q)", res.status, tc.wantStatus, res.challenge)
			}
			if tc.wantStatus == 200 {
				if res.challenge != "" {
					t.Errorf("WWW-Authenticate on success: %q", res.challenge)
				}
				if res.principal.Source != tc.wantSource {
					t.Errorf("source = %q, want %q", res.principal.Source, tc.wantSource)
				}
				if tc.wantUser != "" && res.principal.Username != tc.wantUser {
					t.Errorf("username = %q, want %q", res.principal.Username, tc.wantUser)
				}
				return
			}
			if !strings.HasPrefix(res.challenge, `Bearer realm="test"`) {
				t.Errorf("challenge %q lacks the realm", res.challenge)
			}
			if !strings.Contains(res.challenge, tc.wantChal) {
				t.Errorf("challenge = %q, want it to contain %q", res.challenge, tc.wantChal)
			}
		})
	}
}

func TestPrincipalFromJWT(t *testing.T) {
	iss := newTestIssuer(t)
	v := newVerifier(t, iss, nil)
	exp := time.Now().Add(3 * time.Minute).Truncate(time.Second)
	p, err := v.Authenticate(context.Background(), iss.token(jose.ES256, func(c map[string]any) { c["exp"] = exp.Unix() }))
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "user-123" || p.ClientID != "web-app" || p.Username != "alice" || !p.Expiry.Equal(exp) {
		t.Errorf("principal = %+v", p)
	}
	if !p.HasScope("api:read") || p.HasScope("api:admin") || p.HasScope("api") {
		t.Errorf("scopes = %v", p.Scopes)
	}
	if len(p.Audience) != 2 || p.Audience[0] != testAudience {
		t.Errorf("audience = %v", p.Audience)
	}
	if p.Claims["jti"] == nil {
		t.Errorf("claims lack jti: %v", p.Claims)
	}
}

func TestRequireScopes(t *testing.T) {
	iss := newTestIssuer(t)
	auth := NewAuthenticator(newVerifier(t, iss, nil), newIntrospector(t, iss, nil))

	gin.SetMode(gin.TestMode)
	g := gin.New()
	g.GET("/", Gin(auth, WithRealm("test")), GinRequireScopes("api:admin"), func(c *gin.Context) {
		writeJSON(c.Writer, FromContext(c.Request.Context()))
	})
	handlers := map[string]http.Handler{
		"net/http": Middleware(auth, WithRealm("test"))(RequireScopes("api:admin")(echo)),
		"gin":      g,
	}
	admin := iss.token(jose.ES256, func(c map[string]any) { c["scope"] = "api:read api:admin" })
	reader := iss.token(jose.ES256, nil)
	opaqueAdmin := iss.issueOpaque(iss.activeOpaque())

	for name, h := range handlers {
		tests := []struct {
			name       string
			authz      string
			wantStatus int
			wantChal   string
		}{
			{name: "JWT with the scope", authz: "Bearer " + admin, wantStatus: 200},
			{name: "opaque token with the scope", authz: "Bearer " + opaqueAdmin, wantStatus: 200},
			{name: "JWT without the scope", authz: "Bearer " + reader, wantStatus: 403, wantChal: `Bearer realm="test", error="insufficient_scope", error_description="the access token lacks a required scope", scope="api:admin"`},
			{name: "no token", wantStatus: 401, wantChal: `Bearer realm="test"`},
			{name: "invalid token", authz: "Bearer " + noneToken(iss.claims()), wantStatus: 401, wantChal: `Bearer realm="test", error="invalid_token"`},
		}
		for _, tc := range tests {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				res := call(t, h, tc.authz)
				if res.status != tc.wantStatus {
					t.Fatalf("status = %d, want %d (%q)", res.status, tc.wantStatus, res.challenge)
				}
				if tc.wantStatus == 200 && !res.principal.HasScope("api:admin") {
					t.Errorf("principal lacks api:admin: %+v", res.principal)
				}
				if tc.wantStatus != 200 && !strings.HasPrefix(res.challenge, tc.wantChal) {
					t.Errorf("challenge = %q, want prefix %q", res.challenge, tc.wantChal)
				}
			})
		}
	}
}

func TestRequireScopesWithoutMiddlewareRefuses(t *testing.T) {
	res := call(t, RequireScopes("x")(echo), "Bearer whatever")
	if res.status != http.StatusUnauthorized || res.challenge != "Bearer" {
		t.Fatalf("got %d %q, want 401 Bearer", res.status, res.challenge)
	}
}

func TestOnlyVerifierRefusesOpaqueTokens(t *testing.T) {
	iss := newTestIssuer(t)
	h := Middleware(NewAuthenticator(newVerifier(t, iss, nil), nil))(echo)
	res := call(t, h, "Bearer "+iss.issueOpaque(iss.activeOpaque()))
	if res.status != 401 || !strings.Contains(res.challenge, "not a JWT") {
		t.Fatalf("got %d %q", res.status, res.challenge)
	}
	if n := iss.introspections.Load(); n != 0 {
		t.Fatalf("introspection called %d times", n)
	}
}

func TestIntrospectionOnlyModeSeesJWTRevocation(t *testing.T) {
	iss := newTestIssuer(t)
	local := Middleware(newVerifier(t, iss, nil))(echo)
	remote := Middleware(newIntrospector(t, iss, nil))(echo)
	tok := iss.token(jose.ES256, func(c map[string]any) { c["jti"] = "to-revoke" })
	for name, h := range map[string]http.Handler{"local": local, "introspection": remote} {
		if res := call(t, h, "Bearer "+tok); res.status != 200 {
			t.Fatalf("%s: before revocation got %d %q", name, res.status, res.challenge)
		}
	}
	iss.mu.Lock()
	iss.revoked["to-revoke"] = true
	iss.mu.Unlock()
	// A local verifier cannot know: the token stays valid until exp.
	if res := call(t, local, "Bearer "+tok); res.status != 200 {
		t.Errorf("local after revocation: %d, want 200 (documented limitation)", res.status)
	}
	if res := call(t, remote, "Bearer "+tok); res.status != 401 || !strings.Contains(res.challenge, "not active") {
		t.Errorf("introspection after revocation: %d %q, want 401 not active", res.status, res.challenge)
	}
}

func TestLooksLikeJWT(t *testing.T) {
	tests := []struct {
		name  string
		token string
		want  bool
	}{
		{"compact JWS", noneToken(map[string]any{"a": 1}), true},
		{"opaque random", "sesame_at_q2X0bW9yZQ", false},
		{"three parts, header not JSON", "abc.def.ghi", false},
		{"three parts, header without alg", base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT"}`)) + ".e30.", false},
		{"five parts (JWE)", "a.b.c.d.e", false},
		{"empty", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := LooksLikeJWT(tc.token); got != tc.want {
				t.Errorf("LooksLikeJWT(%q) = %v, want %v", tc.token, got, tc.want)
			}
		})
	}
}

func TestChallengeHeader(t *testing.T) {
	tests := []struct {
		name  string
		ch    challenge
		realm string
		want  string
	}{
		{"no token, no realm", challenge{status: 401}, "", `Bearer`},
		{"no token, realm", challenge{status: 401}, "api", `Bearer realm="api"`},
		{"realm with a quote is escaped", challenge{status: 401}, `my "api"`, `Bearer realm="my \"api\""`},
		{"description loses characters RFC 6750 forbids", challenge{code: "invalid_token", description: "bad \"typ\" \\ é"}, "",
			`Bearer error="invalid_token", error_description="bad typ  "`},
		{"insufficient scope lists the scopes", challenge{code: "insufficient_scope", description: "d", scope: "a b"}, "r",
			`Bearer realm="r", error="insufficient_scope", error_description="d", scope="a b"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.ch.header(tc.realm); got != tc.want {
				t.Errorf("header = %s, want %s", got, tc.want)
			}
		})
	}
}

package security

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/dpop"
	"github.com/sesameauth/sesame/rs"
)

// DPoP (RFC 9449) end to end on a real server, both stores: a proof at the
// token endpoint binds the token; /userinfo and the rs kit (verifying the
// JWT locally and introspecting an opaque token) accept it only with a
// fresh proof by that key for that request.
func TestDPoPEndToEnd(t *testing.T) {
	backends(t, nil, func(t *testing.T, s *srv) {
		s.user("alice", "correct horse battery staple")
		c, sec := s.client(app.ClientSpec{Name: "cli", GrantTypes: []string{"password", "refresh_token"}, Scopes: []string{"openid", "profile", "offline_access"}})
		opq, opqSec := s.client(app.ClientSpec{Name: "cli-opaque", GrantTypes: []string{"password"}, Scopes: []string{"openid"}, AccessTokenFormat: "opaque"})
		api, apiSec := s.client(app.ClientSpec{Name: "api", GrantTypes: []string{"client_credentials"}, Scopes: []string{"sesame:introspect"}})
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		jkt, _ := dpop.Thumbprint(&key.PublicKey)
		proof := func(method, u, token string, iat time.Time) string {
			p, err := dpop.NewProof(key, "ES256", dpop.ProofClaims{Method: method, URL: u, AccessToken: token, IssuedAt: iat})
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		tokenURL, userinfoURL := s.issuer+"/oauth2/token", s.issuer+"/userinfo"
		grant := func(id, secret, scope string) resp {
			req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(url.Values{"grant_type": {"password"},
				"username": {"alice"}, "password": {"correct horse battery staple"}, "scope": {scope}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("DPoP", proof(http.MethodPost, tokenURL, "", time.Time{}))
			req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
			r := s.do(req)
			wantTokens(t, r)
			if r.str("token_type") != "DPoP" {
				t.Fatalf("token_type %q: %s", r.str("token_type"), r.body)
			}
			return r
		}
		at := grant(c.ID, sec, "openid profile offline_access").str("access_token")
		opaque := grant(opq.ID, opqSec, "openid").str("access_token")
		if strings.Count(opaque, ".") == 2 {
			t.Fatalf("the opaque client got a JWT")
		}
		for _, tok := range []string{at, opaque} {
			in := s.introspect(tok, api.ID, apiSec)
			if cnf, _ := in.json["cnf"].(map[string]any); cnf["jkt"] != jkt || in.str("token_type") != "DPoP" {
				t.Fatalf("introspection of a bound token: %s", in.body)
			}
		}

		userinfo := func(scheme, tok, proof string) resp {
			req, _ := http.NewRequest(http.MethodGet, userinfoURL, nil)
			req.Header.Set("Authorization", scheme+" "+tok)
			if proof != "" {
				req.Header.Set("DPoP", proof)
			}
			return s.do(req)
		}
		good := proof(http.MethodGet, userinfoURL, at, time.Time{})
		if r := userinfo("DPoP", at, good); r.status != http.StatusOK || r.str("sub") == "" {
			t.Fatalf("userinfo with a proof: %d %s", r.status, r.body)
		}
		if r := userinfo("DPoP", opaque, proof(http.MethodGet, userinfoURL, opaque, time.Time{})); r.status != http.StatusOK {
			t.Fatalf("userinfo, opaque token with a proof: %d %s", r.status, r.body)
		}
		for _, tc := range []struct{ name, scheme, proof, wantErr string }{
			{"bound token presented as Bearer", "Bearer", "", "invalid_token"},
			{"replayed proof", "DPoP", good, "invalid_dpop_proof"},
			{"no proof", "DPoP", "", "invalid_dpop_proof"},
			{"proof for another URL", "DPoP", proof(http.MethodGet, tokenURL, at, time.Time{}), "invalid_dpop_proof"},
			{"proof for another method", "DPoP", proof(http.MethodPost, userinfoURL, at, time.Time{}), "invalid_dpop_proof"},
			{"wrong ath", "DPoP", proof(http.MethodGet, userinfoURL, opaque, time.Time{}), "invalid_dpop_proof"},
			{"stale iat", "DPoP", proof(http.MethodGet, userinfoURL, at, time.Now().Add(-5*time.Minute)), "invalid_dpop_proof"},
		} {
			r := userinfo(tc.scheme, at, tc.proof)
			ch := r.header.Get("WWW-Authenticate")
			if r.status != http.StatusUnauthorized || !strings.HasPrefix(ch, "DPoP ") || !strings.Contains(ch, `error="`+tc.wantErr+`"`) {
				t.Errorf("userinfo, %s: %d %q %s", tc.name, r.status, ch, r.body)
			}
		}

		// The admin API takes bearer tokens only: a bound token is refused.
		adm, admSec := s.client(app.ClientSpec{Name: "admin", GrantTypes: []string{"client_credentials"}, Scopes: []string{"sesame:admin"}})
		for _, bind := range []bool{false, true} {
			req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {"sesame:admin"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if bind {
				req.Header.Set("DPoP", proof(http.MethodPost, tokenURL, "", time.Time{}))
			}
			req.SetBasicAuth(url.QueryEscape(adm.ID), url.QueryEscape(admSec))
			r := s.do(req)
			wantTokens(t, r)
			want := http.StatusOK
			if bind {
				want = http.StatusUnauthorized
			}
			if a := s.get("/admin/clients", "Authorization", "Bearer "+r.str("access_token")); a.status != want {
				t.Errorf("admin API with a token bound=%v: %d, want %d", bind, a.status, want)
			}
		}

		// The rs kit against this server: the JWT verified locally, the
		// opaque token introspected.
		ctx := context.Background()
		v, err := rs.NewVerifier(ctx, rs.Config{Issuer: s.issuer, Audience: c.ID})
		if err != nil {
			t.Fatal(err)
		}
		in, err := rs.NewIntrospector(ctx, rs.IntrospectionConfig{Issuer: s.issuer, ClientID: api.ID, ClientSecret: apiSec, Audience: opq.ID})
		if err != nil {
			t.Fatal(err)
		}
		apiSrv := httptest.NewServer(rs.Middleware(rs.NewAuthenticator(v, in))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(rs.FromContext(r.Context()).Subject))
		})))
		t.Cleanup(apiSrv.Close)
		call := func(scheme, tok, proof string) (int, string) {
			req, _ := http.NewRequest(http.MethodGet, apiSrv.URL+"/things", nil)
			req.Header.Set("Authorization", scheme+" "+tok)
			if proof != "" {
				req.Header.Set("DPoP", proof)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode, res.Header.Get("WWW-Authenticate")
		}
		for _, tok := range []string{at, opaque} {
			p := proof(http.MethodGet, apiSrv.URL+"/things", tok, time.Time{})
			if code, ch := call("DPoP", tok, p); code != http.StatusOK {
				t.Fatalf("rs kit, bound token with a proof: %d %s", code, ch)
			}
			if code, ch := call("DPoP", tok, p); code != http.StatusUnauthorized || !strings.Contains(ch, "invalid_dpop_proof") {
				t.Errorf("rs kit, replayed proof: %d %s", code, ch)
			}
			if code, ch := call("Bearer", tok, ""); code != http.StatusUnauthorized || !strings.HasPrefix(ch, "DPoP ") {
				t.Errorf("rs kit, bound token as Bearer: %d %s", code, ch)
			}
			if code, _ := call("DPoP", tok, proof(http.MethodGet, apiSrv.URL+"/other", tok, time.Time{})); code != http.StatusUnauthorized {
				t.Errorf("rs kit, proof for another URL: %d", code)
			}
		}
	})
}

// SESAME_DPOP_NONCES (RFC 9449 §8): a proof without the server's nonce is
// refused with use_dpop_nonce and the nonce to retry with, at the token
// endpoint (400) and /userinfo (401); the nonce one instance hands out is
// accepted by another with the same system secret; a made-up one is not.
func TestDPoPServerNonces(t *testing.T) {
	cfg := baseConfig(t)
	cfg.DPoPNonces = true
	a := start(t, cfg).with(t)
	b := start(t, cfg).with(t) // same SQLite file, same secret
	a.user("alice", "correct horse battery staple")
	c, sec := a.client(app.ClientSpec{Name: "cli", GrantTypes: []string{"password"}, Scopes: []string{"openid"}})
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	token := func(s *srv, nonce string) resp {
		t.Helper()
		u := s.issuer + "/oauth2/token"
		p, err := dpop.NewProof(key, "ES256", dpop.ProofClaims{Method: http.MethodPost, URL: u, Nonce: nonce})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(url.Values{"grant_type": {"password"},
			"username": {"alice"}, "password": {"correct horse battery staple"}, "scope": {"openid"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("DPoP", p)
		req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(sec))
		return s.do(req)
	}

	r := token(a, "")
	wantError(t, r, http.StatusBadRequest, "use_dpop_nonce")
	nonce := r.header.Get("DPoP-Nonce")
	if nonce == "" {
		t.Fatalf("use_dpop_nonce without a DPoP-Nonce header: %v", r.header)
	}
	wantError(t, token(a, "made-up-nonce"), http.StatusBadRequest, "use_dpop_nonce")
	ok := token(a, nonce)
	wantTokens(t, ok)
	if ok.str("token_type") != "DPoP" {
		t.Fatalf("token_type %q with the nonce", ok.str("token_type"))
	}
	if r := token(b, nonce); r.status != http.StatusOK {
		t.Fatalf("the other instance refused the nonce: %d %s", r.status, r.body)
	}

	at := ok.str("access_token")
	userinfo := func(nonce string) resp {
		t.Helper()
		u := a.issuer + "/userinfo"
		p, err := dpop.NewProof(key, "ES256", dpop.ProofClaims{Method: http.MethodGet, URL: u, AccessToken: at, Nonce: nonce})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "DPoP "+at)
		req.Header.Set("DPoP", p)
		return a.do(req)
	}
	r = userinfo("")
	if wa := r.header.Get("WWW-Authenticate"); r.status != http.StatusUnauthorized || !strings.Contains(wa, `use_dpop_nonce`) ||
		r.header.Get("DPoP-Nonce") == "" {
		t.Fatalf("userinfo without the nonce: %d, WWW-Authenticate %q, DPoP-Nonce %q", r.status, wa, r.header.Get("DPoP-Nonce"))
	}
	if r := userinfo(r.header.Get("DPoP-Nonce")); r.status != http.StatusOK || r.str("sub") == "" {
		t.Fatalf("userinfo with the nonce: %d %s", r.status, r.body)
	}
}

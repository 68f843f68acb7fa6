package security

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/server"
)

// TestNoSecretsInLogs runs every flow against a server logging JSON at
// debug level and then searches the whole log for each token, code, client
// secret, password and the system secret it saw (RFC 6819 §5.1.4.1.3,
// RFC 9700 §4.2 "credential leakage", OWASP Logging Cheat Sheet). None may
// appear, whole or as a JWT signature or HMAC part.
func TestNoSecretsInLogs(t *testing.T) {
	s := newServer(t)
	var secrets []string
	keep := func(vs ...string) {
		for _, v := range vs {
			if v == "" {
				t.Fatal("a flow returned an empty secret: the search would prove nothing")
			}
			secrets = append(secrets, v)
			// The parts a careless log line could carry alone.
			if i := strings.LastIndexByte(v, '.'); i > 0 && len(v)-i > 16 {
				secrets = append(secrets, v[i+1:])
			}
		}
	}
	const (
		alicePW = "alice-correct-horse-battery"
		bobPW   = "bob-staple-9f3a-password"
		wrongPW = "wrong-password-7c1e-guess"
	)
	keep(testSecret, alicePW, bobPW, wrongPW)
	s.user("alice", alicePW)
	bob := s.user("bob", bobPW)

	web, websec := s.webClient("web", false)
	mobile, msec := s.client(app.ClientSpec{Name: "mobile", GrantTypes: []string{"password", "refresh_token"}, Scopes: []string{"openid", "offline_access", "api:read"}})
	svc, svcsec := s.client(app.ClientSpec{Name: "svc", GrantTypes: []string{"client_credentials"}, Scopes: []string{"api:read", "sesame:introspect"}, AccessTokenFormat: "opaque"})
	keep(websec, msec, svcsec)

	// Authorization code flow with consent, wrong password first.
	br := s.browser()
	az := newAuthz(t, web, "openid offline_access")
	if r := br.login(az, "alice", wrongPW); r.status != 401 {
		t.Fatalf("wrong password: %d", r.status)
	}
	keep(az.verifier, az.state, az.nonce)
	code := s.code(az, "alice", alicePW)
	keep(code)
	tok := s.exchange(az, code, web.ID, websec)
	wantTokens(t, tok)
	keep(tok.str("access_token"), tok.str("refresh_token"), tok.str("id_token"))
	// Replay the code (an error path that must not echo it).
	wantError(t, s.exchange(az, code, web.ID, websec), 400, "invalid_grant")

	// Password grant, refresh (twice: rotation), reuse of a rotated token.
	pg := s.passwordGrant(mobile.ID, msec, "bob", bobPW, "openid offline_access api:read")
	wantTokens(t, pg)
	keep(pg.str("access_token"), pg.str("refresh_token"))
	wantError(t, s.passwordGrant(mobile.ID, msec, "bob", wrongPW, "openid"), 400, "invalid_grant")
	rf := s.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {pg.str("refresh_token")}}, mobile.ID, msec)
	wantTokens(t, rf)
	keep(rf.str("access_token"), rf.str("refresh_token"))
	// A retry within the grace window (the same pair), the successor used,
	// then reuse of the first token (the family revoked).
	wantTokens(t, s.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {pg.str("refresh_token")}}, mobile.ID, msec))
	rf2 := s.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rf.str("refresh_token")}}, mobile.ID, msec)
	wantTokens(t, rf2)
	keep(rf2.str("access_token"), rf2.str("refresh_token"))
	wantError(t, s.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {pg.str("refresh_token")}}, mobile.ID, msec), 400, "invalid_grant")

	// Client credentials (opaque), a wrong secret, introspection, revocation.
	cc := s.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"api:read"}}, svc.ID, svcsec)
	wantTokens(t, cc)
	keep(cc.str("access_token"))
	wantError(t, s.token(url.Values{"grant_type": {"client_credentials"}}, svc.ID, "wrong-"+svcsec), 401, "invalid_client")
	for _, v := range []string{tok.str("access_token"), tok.str("refresh_token"), cc.str("access_token"), "not-a-token-" + wrongPW} {
		s.introspect(v, svc.ID, svcsec)
	}
	s.userinfo(tok.str("access_token"))
	s.post("/oauth2/revoke", url.Values{"token": {tok.str("refresh_token")}}, web.ID, websec)
	s.post("/oauth2/revoke", url.Values{"token": {cc.str("access_token")}}, svc.ID, svcsec)
	// Secrets sent where they do not belong: in a query string and a header.
	s.get("/oauth2/authorize?client_id="+web.ID+"&password="+url.QueryEscape(alicePW), "Authorization", "Bearer "+cc.str("access_token"))

	// A personal token through the server's own code path.
	core, err := server.NewCore(s.ctx, s.s.Config, s.s.Store, s.s.Ring, s.s.Logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	pt, _, err := core.OAuth.IssuePersonalToken(s.ctx, bob.ID, mobile.ID, []string{"api:read"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	keep(pt)
	if !s.active(pt, svc.ID, svcsec) {
		t.Fatal("personal token inactive")
	}

	logs := s.logs.String()
	if !strings.Contains(logs, `"msg":"request"`) || !strings.Contains(logs, `"level":"DEBUG"`) && !strings.Contains(logs, `"level":"INFO"`) {
		t.Fatalf("the log looks empty; the search would prove nothing:\n%.2000s", logs)
	}
	for _, v := range secrets {
		if strings.Contains(logs, v) {
			i := strings.Index(logs, v)
			t.Errorf("secret %.12s… found in the log near: %q", v, logs[max(0, i-200):min(len(logs), i+len(v)+50)])
		}
	}
	t.Logf("searched %d bytes of log for %d secret strings", len(logs), len(secrets))
}

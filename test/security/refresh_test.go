package security

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/sesameauth/sesame/internal/app"
)

// TestRefreshTokenAttacks covers refresh-token replay and theft (RFC 9700
// §4.14.2: rotation with reuse detection, sender binding by client
// authentication), scope escalation (RFC 6749 §6) and revocation (RFC 7009).
func TestRefreshTokenAttacks(t *testing.T) {
	s := newServer(t)
	const pw = "correct horse battery"
	s.user("alice", pw)
	a, asec := s.webClient("a", true)
	b, bsec := s.webClient("b", true)

	// grant returns fresh tokens of alice for client a.
	grant := func(s *srv, scope string) resp {
		s.t.Helper()
		az := newAuthz(s.t, a, scope)
		r := s.exchange(az, s.code(az, "alice", pw), a.ID, asec)
		wantTokens(s.t, r)
		if r.str("refresh_token") == "" {
			s.t.Fatalf("no refresh token: %s", r.body)
		}
		return r
	}
	refresh := func(s *srv, rt, scope, id, sec string) resp {
		f := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
		if scope != "" {
			f.Set("scope", scope)
		}
		return s.token(f, id, sec)
	}

	t.Run("RFC9700-4.14.2 replay of a rotated refresh token revokes the whole family", func(t *testing.T) {
		s := s.with(t)
		g := grant(s, "openid offline_access")
		next := refresh(s, g.str("refresh_token"), "", a.ID, asec)
		wantTokens(t, next)
		// Once the successor was used, the first token is an old one: the
		// default grace window (SESAME_REFRESH_REUSE_GRACE) does not cover it.
		last := refresh(s, next.str("refresh_token"), "", a.ID, asec)
		wantTokens(t, last)
		wantError(t, refresh(s, g.str("refresh_token"), "", a.ID, asec), 400, "invalid_grant")
		// The legitimate client's current tokens die with the family.
		wantError(t, refresh(s, last.str("refresh_token"), "", a.ID, asec), 400, "invalid_grant")
		if s.active(last.str("access_token"), a.ID, asec) {
			t.Fatal("access token of a revoked family is active")
		}
	})
	t.Run("issue 21 a retry within the default grace gets the same pair, and no one else does", func(t *testing.T) {
		s := s.with(t)
		g := grant(s, "openid offline_access")
		next := refresh(s, g.str("refresh_token"), "", a.ID, asec)
		wantTokens(t, next)
		wantError(t, refresh(s, g.str("refresh_token"), "", b.ID, bsec), 400, "invalid_grant")
		retry := refresh(s, g.str("refresh_token"), "", a.ID, asec)
		wantTokens(t, retry)
		if retry.str("refresh_token") != next.str("refresh_token") || retry.str("access_token") != next.str("access_token") {
			t.Fatal("a retry within the grace window got another pair")
		}
		if !s.active(next.str("access_token"), a.ID, asec) {
			t.Fatal("the retry revoked the family")
		}
	})
	t.Run("RFC9700-4.14.2 stolen refresh token used by another client", func(t *testing.T) {
		s := s.with(t)
		g := grant(s, "openid offline_access")
		wantError(t, refresh(s, g.str("refresh_token"), "", b.ID, bsec), 400, "invalid_grant")
	})
	t.Run("RFC6749-6 stolen refresh token without client authentication", func(t *testing.T) {
		s := s.with(t)
		g := grant(s, "openid offline_access")
		wantError(t, refresh(s, g.str("refresh_token"), "", "", ""), 401, "invalid_client")
	})
	t.Run("RFC6749-6 stolen refresh token with a wrong client secret", func(t *testing.T) {
		s := s.with(t)
		g := grant(s, "openid offline_access")
		wantError(t, refresh(s, g.str("refresh_token"), "", a.ID, "wrong-"+asec), 401, "invalid_client")
	})
	t.Run("RFC6749-6 scope escalation on refresh", func(t *testing.T) {
		s := s.with(t)
		g := grant(s, "openid offline_access")
		wantError(t, refresh(s, g.str("refresh_token"), "openid offline_access api:write", a.ID, asec), 400, "invalid_scope")
	})
	t.Run("RFC6749-6 scope escalation to a scope the client may not have", func(t *testing.T) {
		s := s.with(t)
		g := grant(s, "openid offline_access")
		wantError(t, refresh(s, g.str("refresh_token"), "openid offline_access sesame:admin", a.ID, asec), 400, "invalid_scope")
	})
	t.Run("RFC6749-10.4 access token presented as a refresh token", func(t *testing.T) {
		s := s.with(t)
		g := grant(s, "openid offline_access")
		wantError(t, refresh(s, g.str("access_token"), "", a.ID, asec), 400, "invalid_grant")
	})
	t.Run("RFC6750-3.1 refresh token presented as a bearer access token", func(t *testing.T) {
		s := s.with(t)
		g := grant(s, "openid offline_access")
		r := s.userinfo(g.str("refresh_token"))
		wantError(t, r, 401, "invalid_token")
	})
	t.Run("RFC7009-2.1 revoked refresh token and its access token stop working", func(t *testing.T) {
		s := s.with(t)
		g := grant(s, "openid offline_access")
		if r := s.post("/oauth2/revoke", url.Values{"token": {g.str("refresh_token")}}, a.ID, asec); r.status != http.StatusOK {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
		wantError(t, refresh(s, g.str("refresh_token"), "", a.ID, asec), 400, "invalid_grant")
		wantError(t, s.userinfo(g.str("access_token")), 401, "invalid_token")
	})
	t.Run("RFC7009-2.1 a client cannot revoke another client's token", func(t *testing.T) {
		s := s.with(t)
		g := grant(s, "openid offline_access")
		r := s.post("/oauth2/revoke", url.Values{"token": {g.str("refresh_token")}}, b.ID, bsec)
		if r.status != http.StatusOK && r.status != http.StatusBadRequest {
			t.Fatalf("revoke by another client: %d %s", r.status, r.body)
		}
		wantTokens(t, refresh(s, g.str("refresh_token"), "", a.ID, asec))
	})
	t.Run("RFC7662-2.2 a client cannot introspect another client's token", func(t *testing.T) {
		s := s.with(t)
		g := grant(s, "openid offline_access")
		if s.active(g.str("access_token"), b.ID, bsec) {
			t.Fatal("client b sees client a's token as active")
		}
	})
}

// TestRevokedPrincipals: tokens of a disabled user or a deleted client stop
// working at once (RFC 9700 §4.14, RFC 6819 §5.2.2.3, §5.2.2.4).
func TestRevokedPrincipals(t *testing.T) {
	s := newServer(t)
	const pw = "correct horse battery"
	rs, rssec := s.client(app.ClientSpec{Name: "api", GrantTypes: []string{"client_credentials"}, Scopes: []string{"sesame:introspect"}})
	pwc, pwsec := s.client(app.ClientSpec{Name: "mobile", GrantTypes: []string{"password", "refresh_token"}, Scopes: []string{"openid", "offline_access", "api:read"}})

	t.Run("RFC6819-5.2.2.3 disabled user's access and refresh tokens", func(t *testing.T) {
		s := s.with(t)
		s.user("bob", pw)
		g := s.passwordGrant(pwc.ID, pwsec, "bob", pw, "openid offline_access")
		wantTokens(t, g)
		if _, err := s.s.App.DisableUser(s.ctx, "test", "bob"); err != nil {
			t.Fatal(err)
		}
		if s.active(g.str("access_token"), rs.ID, rssec) {
			t.Fatal("disabled user's access token is active")
		}
		wantError(t, s.userinfo(g.str("access_token")), 401, "invalid_token")
		wantError(t, s.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {g.str("refresh_token")}}, pwc.ID, pwsec), 400, "invalid_grant")
	})
	t.Run("RFC6749-4.3.2 disabled user cannot use the password grant", func(t *testing.T) {
		s := s.with(t)
		s.user("carol", pw)
		if _, err := s.s.App.DisableUser(s.ctx, "test", "carol"); err != nil {
			t.Fatal(err)
		}
		wantError(t, s.passwordGrant(pwc.ID, pwsec, "carol", pw, "openid"), 400, "invalid_grant")
	})
	t.Run("RFC6819-5.2.2.4 deleted client's tokens", func(t *testing.T) {
		s := s.with(t)
		s.user("dave", pw)
		c, csec := s.client(app.ClientSpec{Name: "doomed", GrantTypes: []string{"password", "refresh_token"}, Scopes: []string{"openid", "offline_access"}})
		g := s.passwordGrant(c.ID, csec, "dave", pw, "openid offline_access")
		wantTokens(t, g)
		if err := s.s.App.DeleteClient(s.ctx, "test", c.ID); err != nil {
			t.Fatal(err)
		}
		if s.active(g.str("access_token"), rs.ID, rssec) {
			t.Fatal("deleted client's access token is active")
		}
		wantError(t, s.userinfo(g.str("access_token")), 401, "invalid_token")
		// The client is gone: it cannot even authenticate to refresh.
		wantError(t, s.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {g.str("refresh_token")}}, c.ID, csec), 401, "invalid_client")
	})
	t.Run("RFC6819-5.2.2.4 deleted client cannot authenticate", func(t *testing.T) {
		s := s.with(t)
		c, csec := s.client(app.ClientSpec{Name: "gone", GrantTypes: []string{"client_credentials"}, Scopes: []string{"api:read"}})
		wantTokens(t, s.token(url.Values{"grant_type": {"client_credentials"}}, c.ID, csec))
		if err := s.s.App.DeleteClient(s.ctx, "test", c.ID); err != nil {
			t.Fatal(err)
		}
		wantError(t, s.token(url.Values{"grant_type": {"client_credentials"}}, c.ID, csec), 401, "invalid_client")
	})
}

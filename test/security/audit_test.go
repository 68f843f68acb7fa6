package security

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
)

// TestAuditTrail: authentication failures, refreshes and revocations land
// in the audit store with client, IP and outcome; every issued token is a
// structured "audit" log line (RFC 6819 §5.1.4.1.4 / OWASP ASVS V7.2).
func TestAuditTrail(t *testing.T) {
	s := newServer(t)
	s.user("alice", "correct horse battery")
	c, sec := s.client(app.ClientSpec{Name: "mobile", GrantTypes: []string{"password", "refresh_token"}, Scopes: []string{"openid", "offline_access"}})
	g := s.passwordGrant(c.ID, sec, "alice", "correct horse battery", "openid offline_access")
	wantTokens(t, g)
	wantError(t, s.passwordGrant(c.ID, sec, "alice", "wrong", "openid"), 400, "invalid_grant")
	wantError(t, s.token(url.Values{"grant_type": {"client_credentials"}}, c.ID, "wrong"), 401, "invalid_client")
	rf := s.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {g.str("refresh_token")}}, c.ID, sec)
	wantTokens(t, rf)
	s.post("/oauth2/revoke", url.Values{"token": {rf.str("refresh_token")}}, c.ID, sec)

	want := []struct{ typ, outcome string }{
		{"user.login", "success"}, {"user.login", "failure"}, {"client.auth_failed", "failure"},
		{"token.refreshed", "success"}, {"token.revoked", "success"},
	}
	evs, _, err := s.s.Store.ListAudit(context.Background(), storage.AuditFilter{ClientID: c.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		found := false
		for _, e := range evs {
			if e.Type == w.typ && e.Outcome == w.outcome && e.ClientID == c.ID && e.IP == "127.0.0.1" {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s/%s audit event for client %s with IP 127.0.0.1 in %+v", w.typ, w.outcome, c.ID, evs)
		}
	}
	if n := strings.Count(s.logs.String(), `"type":"token.issued"`); n != 2 {
		t.Errorf("%d token.issued log lines, want 2", n)
	}
}

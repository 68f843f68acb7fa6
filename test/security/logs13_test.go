package security

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/internal/config"
	"github.com/sesameauth/sesame/storage"
)

// TestLockMessagesAndRefusals (issue 13 item 22): "authentication locked"
// went through Go's default logger (plain text on stderr, whatever
// SESAME_LOG_FORMAT said) instead of the server's slog logger, and every
// attempt refused during a lock wrote one audit row — an attacker could
// fill the audit table at the rate limit. Now the message is in the
// configured log, and refused attempts are counted
// (sesame_auth_refused_locked_total), not audited.
func TestLockMessagesAndRefusals(t *testing.T) {
	backends(t, func(c *config.Config) { c.BruteForceMaxFailures = 3 }, func(t *testing.T, s *srv) {
		s.user("alice", "correct horse battery")
		for range 3 {
			if r := s.webLogin("alice", "wrong"); r.status != http.StatusUnauthorized {
				t.Fatalf("wrong password: %d", r.status)
			}
		}
		const refused = 10
		for range refused {
			if r := s.webLogin("alice", "wrong"); r.status != http.StatusTooManyRequests {
				t.Fatalf("during the lock: %d, want 429", r.status)
			}
		}
		if !strings.Contains(s.logs.String(), `"msg":"authentication locked"`) {
			t.Fatal(`"authentication locked" is not in the server's configured (JSON) log`)
		}
		evs, _, err := s.s.Store.ListAudit(context.Background(), storage.AuditFilter{Type: "user.login", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 3 {
			t.Fatalf("%d user.login audit events, want 3 (the failures; none per refused attempt)", len(evs))
		}
		if m := string(s.get("/metrics").body); !strings.Contains(m, `sesame_auth_refused_locked_total{kind="user"} 10`) {
			t.Fatal("refused attempts are not counted in sesame_auth_refused_locked_total")
		}
	})
}

package sqlite

import (
	"strings"
	"testing"
)

// The hot and the periodic queries must use an index, not scan the table:
// token tables grow with traffic and the expiry sweeps run on a timer.
func TestQueriesUseIndexes(t *testing.T) {
	s := newStore(t)
	cases := []struct {
		name  string
		query string
		args  []any
		// want lists what the plan must contain besides "no scan": for
		// a join, that each side is probed by its key.
		want []string
	}{
		{"token by kind and signature", `SELECT * FROM tokens WHERE kind = ? AND signature = ?`, []any{"a", "b"}, nil},
		{"token with its client's revocation instant", getToken, []any{"a", "b"}, []string{
			"SEARCH t USING INDEX sqlite_autoindex_tokens_1 (kind=? AND signature=?)",
			"SEARCH cr USING INDEX sqlite_autoindex_client_revocations_1 (client_id=?)",
		}},
		{"tokens of a family", `SELECT * FROM tokens WHERE kind = ? AND request_id = ? ORDER BY requested_at, rowid`, []any{"a", "b"}, nil},
		{"expired tokens", `SELECT rowid FROM tokens WHERE expires_at < ? LIMIT ?`, []any{"x", 10}, nil},
		{"grants of a subject", `SELECT * FROM grants WHERE 1 = 1 AND subject = ?`, []any{"u"}, nil},
		{"grants of a client", `SELECT * FROM grants WHERE 1 = 1 AND client_id = ?`, []any{"c"}, nil},
		{"consents of a deleted client", `DELETE FROM consents WHERE client_id = ?`, []any{"c"},
			[]string{"USING INDEX consents_client_id_idx (client_id=?)"}},
		{"expired grants", `SELECT rowid FROM grants WHERE expires_at < ? LIMIT ?`, []any{"x", 10}, nil},
		{"expired nonces", `SELECT rowid FROM nonces WHERE expires_at < ? LIMIT ?`, []any{"x", 10}, nil},
		{"sessions of a user", `SELECT * FROM login_sessions WHERE user_id = ? AND revoked_at IS NULL`, []any{"u"}, nil},
		{"user by username", `SELECT * FROM users WHERE username_lower = ?`, []any{"a"}, nil},
		{"users page", `SELECT * FROM users WHERE 1 = 1 AND username_lower > ? ORDER BY username_lower LIMIT ?`, []any{"a", 10}, nil},
		{"audit page", `SELECT * FROM audit_events WHERE 1 = 1 AND (at < ? OR (at = ? AND id < ?)) ORDER BY at DESC, id DESC LIMIT ?`, []any{"x", "x", 5, 10}, nil},
		{"audit of a user", `SELECT * FROM audit_events WHERE 1 = 1 AND user_id = ? ORDER BY at DESC, id DESC LIMIT ?`, []any{"u", 10}, nil},
		{"old audit", `SELECT id FROM audit_events WHERE at < ? LIMIT ?`, []any{"x", 10}, nil},
		{"stale failure counters", `SELECT rowid FROM failure_counters WHERE last_at < ?1
			AND (locked_until IS NULL OR locked_until < ?1) LIMIT ?2`, []any{"x", 10},
			[]string{"USING INDEX failure_counters_last_at_idx (last_at<?)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, err := s.DB().QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+c.query, c.args...)
			if err != nil {
				t.Fatalf("explain: %v", err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, notused int
				var detail string
				if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
					t.Fatalf("scan: %v", err)
				}
				plan = append(plan, detail)
			}
			joined := strings.Join(plan, "; ")
			if strings.Contains(joined, "SCAN ") && !strings.Contains(joined, "USING") {
				t.Errorf("full table scan: %s", joined)
			}
			if strings.Contains(joined, "USE TEMP B-TREE FOR ORDER BY") {
				t.Errorf("sorts instead of reading in index order: %s", joined)
			}
			for _, w := range c.want {
				if !strings.Contains(joined, w) {
					t.Errorf("plan lacks %q: %s", w, joined)
				}
			}
		})
	}
}

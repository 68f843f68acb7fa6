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
	}{
		{"token by kind and signature", `SELECT * FROM tokens WHERE kind = ? AND signature = ?`, []any{"a", "b"}},
		{"tokens of a family", `SELECT * FROM tokens WHERE kind = ? AND request_id = ? ORDER BY requested_at, rowid`, []any{"a", "b"}},
		{"expired tokens", `SELECT rowid FROM tokens WHERE expires_at < ? LIMIT ?`, []any{"x", 10}},
		{"grants of a subject", `SELECT * FROM grants WHERE 1 = 1 AND subject = ?`, []any{"u"}},
		{"grants of a client", `SELECT * FROM grants WHERE 1 = 1 AND client_id = ?`, []any{"c"}},
		{"expired grants", `SELECT rowid FROM grants WHERE expires_at < ? LIMIT ?`, []any{"x", 10}},
		{"expired nonces", `SELECT rowid FROM nonces WHERE expires_at < ? LIMIT ?`, []any{"x", 10}},
		{"sessions of a user", `SELECT * FROM login_sessions WHERE user_id = ? AND revoked_at IS NULL`, []any{"u"}},
		{"user by username", `SELECT * FROM users WHERE username_lower = ?`, []any{"a"}},
		{"users page", `SELECT * FROM users WHERE 1 = 1 AND username_lower > ? ORDER BY username_lower LIMIT ?`, []any{"a", 10}},
		{"audit page", `SELECT * FROM audit_events WHERE 1 = 1 AND (at < ? OR (at = ? AND id < ?)) ORDER BY at DESC, id DESC LIMIT ?`, []any{"x", "x", 5, 10}},
		{"audit of a user", `SELECT * FROM audit_events WHERE 1 = 1 AND user_id = ? ORDER BY at DESC, id DESC LIMIT ?`, []any{"u", 10}},
		{"old audit", `SELECT id FROM audit_events WHERE at < ? LIMIT ?`, []any{"x", 10}},
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
		})
	}
}

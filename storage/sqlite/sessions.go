package sqlite

import (
	"context"
	"time"

	"github.com/sesameauth/sesame/storage"
)

const sessionCols = `id, user_id, auth_time, amr, created_at, expires_at, revoked_at, user_agent`

// CreateSession inserts a login session; ErrConflict on duplicate id.
func (s *Store) CreateSession(ctx context.Context, ls storage.LoginSession) error {
	_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO login_sessions (`+sessionCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		ls.ID, ls.UserID, ts(ls.AuthTime), js(ls.AMR), ts(ls.CreatedAt), ts(ls.ExpiresAt), tsPtr(ls.RevokedAt), ls.UserAgent)
	return wrap("create session", err)
}

// GetSession returns a session whatever its state; ErrNotFound if absent.
func (s *Store) GetSession(ctx context.Context, id string) (storage.LoginSession, error) {
	var ls storage.LoginSession
	err := s.q(ctx).QueryRowContext(ctx, `SELECT `+sessionCols+` FROM login_sessions WHERE id = ?`, id).
		Scan(sessionDest(&ls)...)
	return ls, wrap("get session", err)
}

// RevokeSession marks a session revoked, keeping the first RevokedAt;
// ErrNotFound if absent.
func (s *Store) RevokeSession(ctx context.Context, id string, at time.Time) error {
	const op = "revoke session"
	n, err := s.execCount(ctx, op, `UPDATE login_sessions SET revoked_at = COALESCE(revoked_at, ?)
		WHERE id = ?`, ts(at), id)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(op, "session")
	}
	return nil
}

// ExtendSession sets the expiry of an unrevoked session; ErrNotFound if it
// is absent or revoked.
func (s *Store) ExtendSession(ctx context.Context, id string, expiresAt time.Time) error {
	const op = "extend session"
	n, err := s.execCount(ctx, op, `UPDATE login_sessions SET expires_at = ?
		WHERE id = ? AND revoked_at IS NULL`, ts(expiresAt), id)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(op, "session")
	}
	return nil
}

// RevokeUserSessions revokes every unrevoked session of a user.
func (s *Store) RevokeUserSessions(ctx context.Context, userID string, at time.Time) (int, error) {
	return s.execCount(ctx, "revoke user sessions", `UPDATE login_sessions SET revoked_at = ?
		WHERE user_id = ? AND revoked_at IS NULL`, ts(at), userID)
}

func sessionDest(ls *storage.LoginSession) []any {
	return []any{&ls.ID, &ls.UserID, timeCol{&ls.AuthTime}, jsonCol{&ls.AMR}, timeCol{&ls.CreatedAt},
		timeCol{&ls.ExpiresAt}, nullTimeCol{&ls.RevokedAt}, &ls.UserAgent}
}

// ListUserSessions lists the user's live sessions, newest first.
func (s *Store) ListUserSessions(ctx context.Context, userID string, now time.Time) ([]storage.LoginSession, error) {
	rows, err := s.q(ctx).QueryContext(ctx, `SELECT `+sessionCols+` FROM login_sessions
		WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?
		ORDER BY created_at DESC, id LIMIT 1000`, userID, ts(now))
	if err != nil {
		return nil, wrap("list user sessions", err)
	}
	defer rows.Close()
	var out []storage.LoginSession
	for rows.Next() {
		var ls storage.LoginSession
		if err := rows.Scan(sessionDest(&ls)...); err != nil {
			return nil, wrap("list user sessions", err)
		}
		out = append(out, ls)
	}
	return out, wrap("list user sessions", rows.Err())
}

// DeleteExpiredSessions deletes up to limit sessions that expired before `before`.
func (s *Store) DeleteExpiredSessions(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.execCount(ctx, "delete expired sessions", `DELETE FROM login_sessions WHERE rowid IN
		(SELECT rowid FROM login_sessions WHERE expires_at < ? LIMIT ?)`, ts(before), batchLimit(limit))
}

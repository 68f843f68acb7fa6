package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesameauth/sesame/storage"
)

const sessionCols = `id, user_id, auth_time, amr, created_at, expires_at, revoked_at, user_agent`

func scanSession(row pgx.CollectableRow) (storage.LoginSession, error) {
	var ls storage.LoginSession
	err := row.Scan(&ls.ID, &ls.UserID, &ls.AuthTime, &ls.AMR, &ls.CreatedAt, &ls.ExpiresAt, &ls.RevokedAt, &ls.UserAgent)
	if err != nil {
		return storage.LoginSession{}, err
	}
	ls.AMR = list(ls.AMR)
	ls.AuthTime, ls.CreatedAt, ls.ExpiresAt = ls.AuthTime.UTC(), ls.CreatedAt.UTC(), ls.ExpiresAt.UTC()
	ls.RevokedAt = utcPtr(ls.RevokedAt)
	return ls, nil
}

// CreateSession inserts a login session; ErrConflict if the id exists.
func (s *Store) CreateSession(ctx context.Context, ls storage.LoginSession) error {
	_, err := s.q(ctx).Exec(ctx, `INSERT INTO login_sessions (`+sessionCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		ls.ID, ls.UserID, ts(ls.AuthTime), arr(ls.AMR), ts(ls.CreatedAt), ts(ls.ExpiresAt), tsPtr(ls.RevokedAt), ls.UserAgent)
	return mapErr("create session", err)
}

// GetSession returns the session whatever its expiry or revocation.
func (s *Store) GetSession(ctx context.Context, id string) (storage.LoginSession, error) {
	rows, _ := s.q(ctx).Query(ctx, `SELECT `+sessionCols+` FROM login_sessions WHERE id = $1`, id)
	ls, err := pgx.CollectExactlyOneRow(rows, scanSession)
	if err != nil {
		return storage.LoginSession{}, mapErr("get session", err)
	}
	return ls, nil
}

// RevokeSession revokes the session; an already revoked one keeps its
// first RevokedAt. ErrNotFound if absent.
func (s *Store) RevokeSession(ctx context.Context, id string, at time.Time) error {
	tag, err := s.q(ctx).Exec(ctx, `UPDATE login_sessions SET revoked_at = COALESCE(revoked_at, $2)
		WHERE id = $1`, id, ts(at))
	if err != nil {
		return mapErr("revoke session", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("revoke session")
	}
	return nil
}

// ExtendSession sets the expiry of an unrevoked session.
func (s *Store) ExtendSession(ctx context.Context, id string, expiresAt time.Time) error {
	tag, err := s.q(ctx).Exec(ctx, `UPDATE login_sessions SET expires_at = $2
		WHERE id = $1 AND revoked_at IS NULL`, id, ts(expiresAt))
	if err != nil {
		return mapErr("extend session", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("extend session")
	}
	return nil
}

// RevokeUserSessions revokes every unrevoked session of the user.
func (s *Store) RevokeUserSessions(ctx context.Context, userID string, at time.Time) (int, error) {
	tag, err := s.q(ctx).Exec(ctx, `UPDATE login_sessions SET revoked_at = $2
		WHERE user_id = $1 AND revoked_at IS NULL`, userID, ts(at))
	if err != nil {
		return 0, mapErr("revoke user sessions", err)
	}
	return int(tag.RowsAffected()), nil
}

// ListUserSessions lists the user's live sessions, newest first.
func (s *Store) ListUserSessions(ctx context.Context, userID string, now time.Time) ([]storage.LoginSession, error) {
	rows, _ := s.q(ctx).Query(ctx, `SELECT `+sessionCols+` FROM login_sessions
		WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
		ORDER BY created_at DESC, id LIMIT 1000`, userID, ts(now))
	ls, err := pgx.CollectRows(rows, scanSession)
	if err != nil {
		return nil, mapErr("list user sessions", err)
	}
	return ls, nil
}

// DeleteExpiredSessions deletes up to limit sessions that expired before
// `before`.
func (s *Store) DeleteExpiredSessions(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.deleteBatch(ctx, "delete expired sessions", "login_sessions", "expires_at < $1", limit, ts(before))
}

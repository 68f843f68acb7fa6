package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/sesameauth/sesame/storage"
)

const identityCols = `upstream_id, subject, user_id, username, email, groups, created_at, last_login_at`

func scanIdentity(row pgx.CollectableRow) (storage.Identity, error) {
	var id storage.Identity
	if err := row.Scan(&id.UpstreamID, &id.Subject, &id.UserID, &id.Username, &id.Email,
		&id.Groups, &id.CreatedAt, &id.LastLoginAt); err != nil {
		return storage.Identity{}, err
	}
	id.Groups = list(id.Groups)
	id.CreatedAt, id.LastLoginAt = id.CreatedAt.UTC(), id.LastLoginAt.UTC()
	return id, nil
}

// CreateIdentity links; ErrConflict if (upstream_id, subject) exists.
func (s *Store) CreateIdentity(ctx context.Context, id storage.Identity) error {
	_, err := s.q(ctx).Exec(ctx, `INSERT INTO identities (`+identityCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id.UpstreamID, id.Subject, id.UserID, id.Username, id.Email,
		arr(id.Groups), ts(id.CreatedAt), ts(id.LastLoginAt))
	return mapErr("create identity", err)
}

// GetIdentity returns one link; ErrNotFound if absent.
func (s *Store) GetIdentity(ctx context.Context, upstreamID, subject string) (storage.Identity, error) {
	rows, _ := s.q(ctx).Query(ctx, `SELECT `+identityCols+` FROM identities
		WHERE upstream_id = $1 AND subject = $2`, upstreamID, subject)
	id, err := pgx.CollectExactlyOneRow(rows, scanIdentity)
	return id, mapErr("get identity", err)
}

// ListUserIdentities lists a user's links by upstream id, subject.
func (s *Store) ListUserIdentities(ctx context.Context, userID string) ([]storage.Identity, error) {
	rows, _ := s.q(ctx).Query(ctx, `SELECT `+identityCols+` FROM identities
		WHERE user_id = $1 ORDER BY upstream_id COLLATE "C", subject COLLATE "C"`, userID)
	ids, err := pgx.CollectRows(rows, scanIdentity)
	return ids, mapErr("list user identities", err)
}

// UpdateIdentity replaces what the upstream said last; ErrNotFound if absent.
func (s *Store) UpdateIdentity(ctx context.Context, id storage.Identity) error {
	tag, err := s.q(ctx).Exec(ctx, `UPDATE identities SET username = $3, email = $4, groups = $5, last_login_at = $6
		WHERE upstream_id = $1 AND subject = $2`, id.UpstreamID, id.Subject, id.Username, id.Email, arr(id.Groups), ts(id.LastLoginAt))
	if err != nil {
		return mapErr("update identity", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("update identity")
	}
	return nil
}

// DeleteIdentity unlinks; ErrNotFound if absent.
func (s *Store) DeleteIdentity(ctx context.Context, upstreamID, subject string) error {
	tag, err := s.q(ctx).Exec(ctx, `DELETE FROM identities WHERE upstream_id = $1 AND subject = $2`, upstreamID, subject)
	if err != nil {
		return mapErr("delete identity", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("delete identity")
	}
	return nil
}

// FindUsersByEmail matches lower(email) COLLATE "C" (ASCII folding, the
// index of 00009).
func (s *Store) FindUsersByEmail(ctx context.Context, email string) ([]storage.User, error) {
	if email == "" {
		return nil, nil
	}
	rows, _ := s.q(ctx).Query(ctx, `SELECT `+userCols+` FROM users
		WHERE (lower(email) COLLATE "C") = (lower($1) COLLATE "C") ORDER BY id COLLATE "C" LIMIT 10`, email)
	us, err := pgx.CollectRows(rows, scanUser)
	return us, mapErr("find users by email", err)
}

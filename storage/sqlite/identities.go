package sqlite

import (
	"context"
	"database/sql"

	"github.com/sesameauth/sesame/storage"
)

const identityCols = `upstream_id, subject, user_id, username, email, groups, created_at, last_login_at`

func scanIdentity(row interface{ Scan(...any) error }) (storage.Identity, error) {
	var id storage.Identity
	err := row.Scan(&id.UpstreamID, &id.Subject, &id.UserID, &id.Username, &id.Email,
		jsonCol{&id.Groups}, timeCol{&id.CreatedAt}, timeCol{&id.LastLoginAt})
	return id, err
}

// CreateIdentity links; ErrConflict if (upstream_id, subject) exists.
func (s *Store) CreateIdentity(ctx context.Context, id storage.Identity) error {
	_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO identities (`+identityCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id.UpstreamID, id.Subject, id.UserID, id.Username, id.Email,
		js(id.Groups), ts(id.CreatedAt), ts(id.LastLoginAt))
	return wrap("create identity", err)
}

// GetIdentity returns one link; ErrNotFound if absent.
func (s *Store) GetIdentity(ctx context.Context, upstreamID, subject string) (storage.Identity, error) {
	id, err := scanIdentity(s.q(ctx).QueryRowContext(ctx, `SELECT `+identityCols+` FROM identities
		WHERE upstream_id = ? AND subject = ?`, upstreamID, subject))
	return id, wrap("get identity", err)
}

// ListUserIdentities lists a user's links by upstream id, subject.
func (s *Store) ListUserIdentities(ctx context.Context, userID string) ([]storage.Identity, error) {
	const op = "list user identities"
	rows, err := s.q(ctx).QueryContext(ctx, `SELECT `+identityCols+` FROM identities
		WHERE user_id = ? ORDER BY upstream_id, subject`, userID)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []storage.Identity
	for rows.Next() {
		id, err := scanIdentity(rows)
		if err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, id)
	}
	return out, wrap(op, rows.Err())
}

// UpdateIdentity replaces what the upstream said last; ErrNotFound if absent.
func (s *Store) UpdateIdentity(ctx context.Context, id storage.Identity) error {
	const op = "update identity"
	res, err := s.q(ctx).ExecContext(ctx, `UPDATE identities SET username = ?, email = ?, groups = ?, last_login_at = ?
		WHERE upstream_id = ? AND subject = ?`, id.Username, id.Email, js(id.Groups), ts(id.LastLoginAt), id.UpstreamID, id.Subject)
	if err != nil {
		return wrap(op, err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return wrap(op, err)
	}
	if n == 0 {
		return wrap(op, sql.ErrNoRows)
	}
	return nil
}

// DeleteIdentity unlinks; ErrNotFound if absent.
func (s *Store) DeleteIdentity(ctx context.Context, upstreamID, subject string) error {
	return s.deleteOne(ctx, "delete identity",
		`DELETE FROM identities WHERE upstream_id = ? AND subject = ?`, upstreamID, subject)
}

// FindUsersByEmail matches lower(email) (ASCII folding, the index of 00009).
func (s *Store) FindUsersByEmail(ctx context.Context, email string) ([]storage.User, error) {
	const op = "find users by email"
	if email == "" {
		return nil, nil
	}
	rows, err := s.q(ctx).QueryContext(ctx, `SELECT `+userCols+` FROM users
		WHERE lower(email) = lower(?) ORDER BY id LIMIT 10`, email)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []storage.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, u)
	}
	return out, wrap(op, rows.Err())
}

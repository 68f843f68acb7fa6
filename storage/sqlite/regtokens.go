package sqlite

import (
	"context"
	"time"

	"github.com/sesameauth/sesame/storage"
)

const regTokenCols = `id, description, max_uses, uses, created_at, expires_at`

func scanRegToken(row interface{ Scan(...any) error }) (storage.RegistrationToken, error) {
	var t storage.RegistrationToken
	err := row.Scan(&t.ID, &t.Description, &t.MaxUses, &t.Uses, timeCol{&t.CreatedAt}, timeCol{&t.ExpiresAt})
	return t, err
}

// CreateRegistrationToken inserts an initial access token; ErrConflict on
// duplicate id.
func (s *Store) CreateRegistrationToken(ctx context.Context, t storage.RegistrationToken) error {
	_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO registration_tokens (`+regTokenCols+`)
		VALUES (?, ?, ?, ?, ?, ?)`,
		t.ID, t.Description, t.MaxUses, t.Uses, ts(t.CreatedAt), ts(t.ExpiresAt))
	return wrap("create registration token", err)
}

// UseRegistrationToken counts one use in a single conditional UPDATE (so
// concurrent registrations cannot overspend MaxUses) and returns the token
// as updated. ErrNotFound if absent, expired at now, or used up.
func (s *Store) UseRegistrationToken(ctx context.Context, id string, now time.Time) (storage.RegistrationToken, error) {
	t, err := scanRegToken(s.q(ctx).QueryRowContext(ctx, `UPDATE registration_tokens SET uses = uses + 1
		WHERE id = ? AND expires_at > ? AND (max_uses = 0 OR uses < max_uses)
		RETURNING `+regTokenCols, id, ts(now)))
	return t, wrap("use registration token", err)
}

// ListRegistrationTokens lists every token, oldest first.
func (s *Store) ListRegistrationTokens(ctx context.Context) ([]storage.RegistrationToken, error) {
	const op = "list registration tokens"
	rows, err := s.q(ctx).QueryContext(ctx, `SELECT `+regTokenCols+` FROM registration_tokens
		ORDER BY created_at, id`)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []storage.RegistrationToken
	for rows.Next() {
		t, err := scanRegToken(rows)
		if err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, t)
	}
	return out, wrap(op, rows.Err())
}

// DeleteRegistrationToken removes a token; ErrNotFound if absent.
func (s *Store) DeleteRegistrationToken(ctx context.Context, id string) error {
	return s.deleteOne(ctx, "delete registration token", `DELETE FROM registration_tokens WHERE id = ?`, id)
}

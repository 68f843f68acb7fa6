package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesameauth/sesame/storage"
)

const regTokenCols = `id, description, max_uses, uses, created_at, expires_at`

func scanRegToken(row pgx.CollectableRow) (storage.RegistrationToken, error) {
	var t storage.RegistrationToken
	if err := row.Scan(&t.ID, &t.Description, &t.MaxUses, &t.Uses, &t.CreatedAt, &t.ExpiresAt); err != nil {
		return storage.RegistrationToken{}, err
	}
	t.CreatedAt, t.ExpiresAt = t.CreatedAt.UTC(), t.ExpiresAt.UTC()
	return t, nil
}

// CreateRegistrationToken inserts an initial access token; ErrConflict if
// the id exists. A zero ExpiresAt is a time long past: such a token is
// never usable (fail closed, as in the SQLite backend).
func (s *Store) CreateRegistrationToken(ctx context.Context, t storage.RegistrationToken) error {
	_, err := s.q(ctx).Exec(ctx, `INSERT INTO registration_tokens (`+regTokenCols+`)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		t.ID, t.Description, t.MaxUses, t.Uses, ts(t.CreatedAt), ts(t.ExpiresAt))
	return mapErr("create registration token", err)
}

// UseRegistrationToken counts one use of an unexpired token with uses
// left and returns it after the use. The check and the increment are one
// statement, so N concurrent callers never spend more than MaxUses uses.
// ErrNotFound if the token is absent, expired or used up.
func (s *Store) UseRegistrationToken(ctx context.Context, id string, now time.Time) (storage.RegistrationToken, error) {
	rows, _ := s.q(ctx).Query(ctx, `UPDATE registration_tokens SET uses = uses + 1
		WHERE id = $1 AND expires_at > $2
		AND (max_uses = 0 OR uses < max_uses)
		RETURNING `+regTokenCols, id, ts(now))
	t, err := pgx.CollectExactlyOneRow(rows, scanRegToken)
	if err != nil {
		return storage.RegistrationToken{}, mapErr("use registration token", err)
	}
	return t, nil
}

// ListRegistrationTokens lists every token, oldest first.
func (s *Store) ListRegistrationTokens(ctx context.Context) ([]storage.RegistrationToken, error) {
	rows, _ := s.q(ctx).Query(ctx, `SELECT `+regTokenCols+` FROM registration_tokens ORDER BY created_at, id`)
	ts, err := pgx.CollectRows(rows, scanRegToken)
	if err != nil {
		return nil, mapErr("list registration tokens", err)
	}
	return ts, nil
}

// DeleteRegistrationToken removes the token; ErrNotFound if absent.
func (s *Store) DeleteRegistrationToken(ctx context.Context, id string) error {
	tag, err := s.q(ctx).Exec(ctx, `DELETE FROM registration_tokens WHERE id = $1`, id)
	if err != nil {
		return mapErr("delete registration token", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("delete registration token")
	}
	return nil
}

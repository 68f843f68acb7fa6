package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesameauth/sesame/storage"
)

const factorCols = `id, user_id, kind, name, secret, credential_id, counter, confirmed, created_at, last_used_at`

func scanFactor(row pgx.CollectableRow) (storage.Factor, error) {
	var (
		f    storage.Factor
		kind string
		cred *string
	)
	if err := row.Scan(&f.ID, &f.UserID, &kind, &f.Name, &f.Secret, &cred, &f.Counter, &f.Confirmed,
		&f.CreatedAt, &f.LastUsedAt); err != nil {
		return storage.Factor{}, err
	}
	f.Kind = storage.FactorKind(kind)
	if cred != nil {
		f.CredentialID = *cred
	}
	f.CreatedAt, f.LastUsedAt = f.CreatedAt.UTC(), utcPtr(f.LastUsedAt)
	if len(f.Secret) == 0 {
		f.Secret = nil
	}
	return f, nil
}

// nullText stores "" as NULL, so the unique index on credential_id leaves
// TOTP factors (which have none) alone.
func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// CreateFactor inserts; ErrConflict if the id or the credential id exists.
func (s *Store) CreateFactor(ctx context.Context, f storage.Factor) error {
	secret := f.Secret
	if secret == nil {
		secret = []byte{}
	}
	_, err := s.q(ctx).Exec(ctx, `INSERT INTO user_factors (`+factorCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		f.ID, f.UserID, string(f.Kind), f.Name, secret, nullText(f.CredentialID), f.Counter,
		f.Confirmed, ts(f.CreatedAt), tsPtr(f.LastUsedAt))
	return mapErr("create factor", err)
}

func (s *Store) oneFactor(ctx context.Context, op, query string, args ...any) (storage.Factor, error) {
	rows, _ := s.q(ctx).Query(ctx, query, args...)
	f, err := pgx.CollectExactlyOneRow(rows, scanFactor)
	return f, mapErr(op, err)
}

// GetFactor returns the factor with id; ErrNotFound if absent.
func (s *Store) GetFactor(ctx context.Context, id string) (storage.Factor, error) {
	return s.oneFactor(ctx, "get factor", `SELECT `+factorCols+` FROM user_factors WHERE id = $1`, id)
}

// GetFactorByCredentialID finds a WebAuthn factor by credential id.
func (s *Store) GetFactorByCredentialID(ctx context.Context, credentialID string) (storage.Factor, error) {
	if credentialID == "" {
		return storage.Factor{}, notFound("get factor by credential id")
	}
	return s.oneFactor(ctx, "get factor by credential id",
		`SELECT `+factorCols+` FROM user_factors WHERE credential_id = $1`, credentialID)
}

// ListFactors lists a user's factors, oldest first.
func (s *Store) ListFactors(ctx context.Context, userID string) ([]storage.Factor, error) {
	rows, _ := s.q(ctx).Query(ctx,
		`SELECT `+factorCols+` FROM user_factors WHERE user_id = $1 ORDER BY created_at, id COLLATE "C"`, userID)
	fs, err := pgx.CollectRows(rows, scanFactor)
	return fs, mapErr("list factors", err)
}

// ConfirmFactor confirms an unconfirmed factor of userID.
func (s *Store) ConfirmFactor(ctx context.Context, userID, id string, counter int64, at time.Time) error {
	tag, err := s.q(ctx).Exec(ctx, `UPDATE user_factors SET confirmed = true, counter = $3, last_used_at = $4
		WHERE id = $1 AND user_id = $2 AND NOT confirmed`, id, userID, counter, ts(at))
	if err != nil {
		return mapErr("confirm factor", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	return s.exists(ctx, "confirm factor", `SELECT 1 FROM user_factors WHERE id = $1 AND user_id = $2`, id, userID)
}

// AdvanceFactorCounter moves the replay fence forward (one conditional
// UPDATE: concurrent uses of one code cannot both change the row).
func (s *Store) AdvanceFactorCounter(ctx context.Context, id string, counter int64, at time.Time) error {
	tag, err := s.q(ctx).Exec(ctx, `UPDATE user_factors SET counter = $2, last_used_at = $3
		WHERE id = $1 AND confirmed AND (counter < $2 OR (counter = 0 AND $2 = 0))`, id, counter, ts(at))
	if err != nil {
		return mapErr("advance factor counter", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	return s.exists(ctx, "advance factor counter", `SELECT 1 FROM user_factors WHERE id = $1 AND confirmed`, id)
}

// RenameFactor sets the name of userID's factor.
func (s *Store) RenameFactor(ctx context.Context, userID, id, name string) error {
	tag, err := s.q(ctx).Exec(ctx, `UPDATE user_factors SET name = $3 WHERE id = $1 AND user_id = $2`, id, userID, name)
	if err != nil {
		return mapErr("rename factor", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("rename factor")
	}
	return nil
}

// DeleteFactor removes userID's factor.
func (s *Store) DeleteFactor(ctx context.Context, userID, id string) error {
	tag, err := s.q(ctx).Exec(ctx, `DELETE FROM user_factors WHERE id = $1 AND user_id = $2`, id, userID)
	if err != nil {
		return mapErr("delete factor", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("delete factor")
	}
	return nil
}

// DeleteUserFactors removes every factor and recovery code of a user (one
// statement).
func (s *Store) DeleteUserFactors(ctx context.Context, userID string) (int, error) {
	tag, err := s.q(ctx).Exec(ctx, `WITH c AS (DELETE FROM recovery_codes WHERE user_id = $1)
		DELETE FROM user_factors WHERE user_id = $1`, userID)
	if err != nil {
		return 0, mapErr("delete user factors", err)
	}
	return int(tag.RowsAffected()), nil
}

// ReplaceRecoveryCodes replaces the user's codes (one statement: all or
// nothing).
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, at time.Time) error {
	_, err := s.q(ctx).Exec(ctx, `WITH d AS (DELETE FROM recovery_codes WHERE user_id = $1)
		INSERT INTO recovery_codes (user_id, code_hash, created_at)
		SELECT $1, h, $3 FROM unnest($2::text[]) AS h`, userID, arr(hashes), ts(at))
	return mapErr("replace recovery codes", err)
}

// UseRecoveryCode marks one unused code used (conditional UPDATE).
func (s *Store) UseRecoveryCode(ctx context.Context, userID, hash string, at time.Time) error {
	tag, err := s.q(ctx).Exec(ctx, `UPDATE recovery_codes SET used_at = $3
		WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL`, userID, hash, ts(at))
	if err != nil {
		return mapErr("use recovery code", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("use recovery code")
	}
	return nil
}

// CountRecoveryCodes counts the user's unused codes.
func (s *Store) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.q(ctx).QueryRow(ctx,
		`SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL`, userID).Scan(&n)
	return n, mapErr("count recovery codes", err)
}

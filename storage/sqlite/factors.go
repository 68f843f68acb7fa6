package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/sesameauth/sesame/storage"
)

const factorCols = `id, user_id, kind, name, secret, credential_id, counter, confirmed, created_at, last_used_at`

func scanFactor(row interface{ Scan(...any) error }) (storage.Factor, error) {
	var (
		f    storage.Factor
		kind string
		cred sql.NullString
	)
	err := row.Scan(&f.ID, &f.UserID, &kind, &f.Name, blobCol{&f.Secret}, &cred, &f.Counter, &f.Confirmed,
		timeCol{&f.CreatedAt}, nullTimeCol{&f.LastUsedAt})
	f.Kind, f.CredentialID = storage.FactorKind(kind), cred.String
	return f, err
}

// nullString stores "" as NULL, so the unique index on credential_id
// leaves TOTP factors (which have none) alone.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// CreateFactor inserts; ErrConflict if the id or the credential id exists.
func (s *Store) CreateFactor(ctx context.Context, f storage.Factor) error {
	_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO user_factors (`+factorCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ID, f.UserID, string(f.Kind), f.Name, f.Secret, nullString(f.CredentialID), f.Counter,
		boolInt(f.Confirmed), ts(f.CreatedAt), tsPtr(f.LastUsedAt))
	return wrap("create factor", err)
}

// GetFactor returns the factor with id; ErrNotFound if absent.
func (s *Store) GetFactor(ctx context.Context, id string) (storage.Factor, error) {
	f, err := scanFactor(s.q(ctx).QueryRowContext(ctx, `SELECT `+factorCols+` FROM user_factors WHERE id = ?`, id))
	return f, wrap("get factor", err)
}

// GetFactorByCredentialID finds a WebAuthn factor by credential id.
func (s *Store) GetFactorByCredentialID(ctx context.Context, credentialID string) (storage.Factor, error) {
	if credentialID == "" {
		return storage.Factor{}, notFound("get factor by credential id", "empty id")
	}
	f, err := scanFactor(s.q(ctx).QueryRowContext(ctx,
		`SELECT `+factorCols+` FROM user_factors WHERE credential_id = ?`, credentialID))
	return f, wrap("get factor by credential id", err)
}

// ListFactors lists a user's factors, oldest first.
func (s *Store) ListFactors(ctx context.Context, userID string) ([]storage.Factor, error) {
	rows, err := s.q(ctx).QueryContext(ctx,
		`SELECT `+factorCols+` FROM user_factors WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, wrap("list factors", err)
	}
	defer rows.Close()
	var out []storage.Factor
	for rows.Next() {
		f, err := scanFactor(rows)
		if err != nil {
			return nil, wrap("list factors", err)
		}
		out = append(out, f)
	}
	return out, wrap("list factors", rows.Err())
}

// ConfirmFactor confirms an unconfirmed factor of userID.
func (s *Store) ConfirmFactor(ctx context.Context, userID, id string, counter int64, at time.Time) error {
	n, err := s.execCount(ctx, "confirm factor", `UPDATE user_factors SET confirmed = 1, counter = ?, last_used_at = ?
		WHERE id = ? AND user_id = ? AND confirmed = 0`, counter, ts(at), id, userID)
	if err != nil || n == 1 {
		return err
	}
	return s.factorMiss(ctx, "confirm factor", `SELECT 1 FROM user_factors WHERE id = ? AND user_id = ?`, id, userID)
}

// AdvanceFactorCounter moves the replay fence forward (one conditional
// UPDATE: concurrent uses of one code cannot both change the row).
func (s *Store) AdvanceFactorCounter(ctx context.Context, id string, counter int64, at time.Time) error {
	n, err := s.execCount(ctx, "advance factor counter", `UPDATE user_factors SET counter = ?, last_used_at = ?
		WHERE id = ? AND confirmed = 1 AND (counter < ? OR (counter = 0 AND ? = 0))`,
		counter, ts(at), id, counter, counter)
	if err != nil || n == 1 {
		return err
	}
	return s.factorMiss(ctx, "advance factor counter", `SELECT 1 FROM user_factors WHERE id = ? AND confirmed = 1`, id)
}

// factorMiss tells a lost conditional update (the row exists: ErrConflict)
// from an absent row (ErrNotFound).
func (s *Store) factorMiss(ctx context.Context, op, query string, args ...any) error {
	var one int
	err := s.q(ctx).QueryRowContext(ctx, query, args...).Scan(&one)
	if err != nil {
		return wrap(op, err)
	}
	return conflict(op, "factor already confirmed or code already used")
}

// RenameFactor sets the name of userID's factor.
func (s *Store) RenameFactor(ctx context.Context, userID, id, name string) error {
	n, err := s.execCount(ctx, "rename factor", `UPDATE user_factors SET name = ? WHERE id = ? AND user_id = ?`, name, id, userID)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("rename factor", id)
	}
	return nil
}

// DeleteFactor removes userID's factor.
func (s *Store) DeleteFactor(ctx context.Context, userID, id string) error {
	return s.deleteOne(ctx, "delete factor", `DELETE FROM user_factors WHERE id = ? AND user_id = ?`, id, userID)
}

// DeleteUserFactors removes every factor and recovery code of a user in
// one transaction.
func (s *Store) DeleteUserFactors(ctx context.Context, userID string) (int, error) {
	var n int
	err := storage.InTx(ctx, s, func(ctx context.Context) error {
		var err error
		if n, err = s.deleteUserFactors(ctx, userID); err != nil {
			return err
		}
		return nil
	})
	return n, err
}

// deleteUserFactors is DeleteUserFactors inside the caller's transaction.
func (s *Store) deleteUserFactors(ctx context.Context, userID string) (int, error) {
	if _, err := s.q(ctx).ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return 0, wrap("delete recovery codes", err)
	}
	return s.execCount(ctx, "delete factors", `DELETE FROM user_factors WHERE user_id = ?`, userID)
}

// ReplaceRecoveryCodes replaces the user's codes in one transaction.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, at time.Time) error {
	return storage.InTx(ctx, s, func(ctx context.Context) error {
		if _, err := s.q(ctx).ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return wrap("replace recovery codes", err)
		}
		for _, h := range hashes {
			if _, err := s.q(ctx).ExecContext(ctx, `INSERT INTO recovery_codes (user_id, code_hash, created_at)
				VALUES (?, ?, ?)`, userID, h, ts(at)); err != nil {
				return wrap("replace recovery codes", err)
			}
		}
		return nil
	})
}

// UseRecoveryCode marks one unused code used (conditional UPDATE).
func (s *Store) UseRecoveryCode(ctx context.Context, userID, hash string, at time.Time) error {
	n, err := s.execCount(ctx, "use recovery code", `UPDATE recovery_codes SET used_at = ?
		WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`, ts(at), userID, hash)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("use recovery code", "no unused code matches")
	}
	return nil
}

// CountRecoveryCodes counts the user's unused codes.
func (s *Store) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.q(ctx).QueryRowContext(ctx,
		`SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&n)
	return n, wrap("count recovery codes", err)
}

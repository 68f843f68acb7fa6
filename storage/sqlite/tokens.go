package sqlite

import (
	"context"
	"time"

	"github.com/sesameauth/sesame/storage"
)

const tokenCols = `kind, signature, request_id, client_id, subject, active, requested_at,
	expires_at, data, access_signature, first_used_at, successor`

func scanToken(row interface{ Scan(...any) error }) (storage.TokenRecord, error) {
	var (
		r    storage.TokenRecord
		kind string
	)
	err := row.Scan(&kind, &r.Signature, &r.RequestID, &r.ClientID, &r.Subject, &r.Active,
		timeCol{&r.RequestedAt}, timeCol{&r.ExpiresAt}, blobCol{&r.Data}, &r.AccessSignature,
		nullTimeCol{&r.FirstUsedAt}, blobCol{&r.Successor})
	r.Kind = storage.TokenKind(kind)
	return r, err
}

// CreateToken inserts a record; ErrConflict if (Kind, Signature) exists.
func (s *Store) CreateToken(ctx context.Context, r storage.TokenRecord) error {
	_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO tokens (`+tokenCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		string(r.Kind), r.Signature, r.RequestID, r.ClientID, r.Subject, boolInt(r.Active),
		ts(r.RequestedAt), ts(r.ExpiresAt), blob(r.Data), r.AccessSignature,
		tsPtr(r.FirstUsedAt), blob(r.Successor))
	return wrap("create token", err)
}

// GetToken returns the record whatever its Active flag; ErrNotFound if absent.
func (s *Store) GetToken(ctx context.Context, kind storage.TokenKind, signature string) (storage.TokenRecord, error) {
	r, err := scanToken(s.q(ctx).QueryRowContext(ctx,
		`SELECT `+tokenCols+` FROM tokens WHERE kind = ? AND signature = ?`, string(kind), signature))
	return r, wrap("get token", err)
}

// DeleteToken removes a record; a missing record is not an error.
func (s *Store) DeleteToken(ctx context.Context, kind storage.TokenKind, signature string) error {
	_, err := s.q(ctx).ExecContext(ctx, `DELETE FROM tokens WHERE kind = ? AND signature = ?`,
		string(kind), signature)
	return wrap("delete token", err)
}

// DeactivateToken flips Active from true to false in one conditional
// UPDATE: SQLite runs it under the write lock, so of several concurrent
// callers exactly one sees a changed row. The losers then learn whether
// the record exists (ErrConflict) or not (ErrNotFound).
func (s *Store) DeactivateToken(ctx context.Context, kind storage.TokenKind, signature string, at time.Time, successor []byte) error {
	const op = "deactivate token"
	// A nil successor keeps whatever is stored.
	var succ any
	if successor != nil {
		succ = blob(successor)
	}
	n, err := s.execCount(ctx, op, `UPDATE tokens SET active = 0,
			first_used_at = COALESCE(first_used_at, ?),
			successor = CASE WHEN ? THEN ? ELSE successor END
		WHERE kind = ? AND signature = ? AND active = 1`,
		ts(at), successor != nil, succ, string(kind), signature)
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	var exists bool
	err = s.q(ctx).QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM tokens WHERE kind = ? AND signature = ?)`,
		string(kind), signature).Scan(&exists)
	if err != nil {
		return wrap(op, err)
	}
	if exists {
		return conflict(op, "already inactive")
	}
	return notFound(op, string(kind))
}

// DeactivateByRequestID deactivates every active record of the kind in the
// grant family.
func (s *Store) DeactivateByRequestID(ctx context.Context, kind storage.TokenKind, requestID string) (int, error) {
	return s.execCount(ctx, "deactivate tokens by request id",
		`UPDATE tokens SET active = 0 WHERE kind = ? AND request_id = ? AND active = 1`,
		string(kind), requestID)
}

// DeleteByRequestID deletes every record of the kind in the family.
func (s *Store) DeleteByRequestID(ctx context.Context, kind storage.TokenKind, requestID string) (int, error) {
	return s.execCount(ctx, "delete tokens by request id",
		`DELETE FROM tokens WHERE kind = ? AND request_id = ?`, string(kind), requestID)
}

// ListByRequestID lists a family's records of one kind, oldest first
// (insertion order breaks ties between equal RequestedAt).
func (s *Store) ListByRequestID(ctx context.Context, kind storage.TokenKind, requestID string) ([]storage.TokenRecord, error) {
	const op = "list tokens by request id"
	rows, err := s.q(ctx).QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens
		WHERE kind = ? AND request_id = ? ORDER BY requested_at, rowid`, string(kind), requestID)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []storage.TokenRecord
	for rows.Next() {
		r, err := scanToken(rows)
		if err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, r)
	}
	return out, wrap(op, rows.Err())
}

// DeleteExpiredTokens deletes up to limit records whose ExpiresAt is
// before `before`, in one batch so the write lock is held briefly.
func (s *Store) DeleteExpiredTokens(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.execCount(ctx, "delete expired tokens", `DELETE FROM tokens WHERE rowid IN
		(SELECT rowid FROM tokens WHERE expires_at < ? LIMIT ?)`, ts(before), batchLimit(limit))
}

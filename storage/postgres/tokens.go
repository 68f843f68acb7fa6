package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesameauth/sesame/storage"
)

const tokenCols = `kind, signature, request_id, client_id, subject, active, requested_at,
	expires_at, data, access_signature, first_used_at, successor`

func scanToken(row pgx.CollectableRow) (storage.TokenRecord, error) {
	return scanTokenPlus(row)
}

// scanTokenPlus scans tokenCols and then, into extra, any columns selected
// after them.
func scanTokenPlus(row pgx.CollectableRow, extra ...any) (storage.TokenRecord, error) {
	var (
		r    storage.TokenRecord
		kind string
	)
	dst := []any{&kind, &r.Signature, &r.RequestID, &r.ClientID, &r.Subject, &r.Active,
		&r.RequestedAt, &r.ExpiresAt, &r.Data, &r.AccessSignature, &r.FirstUsedAt, &r.Successor}
	if err := row.Scan(append(dst, extra...)...); err != nil {
		return storage.TokenRecord{}, err
	}
	r.Kind = storage.TokenKind(kind)
	r.RequestedAt, r.ExpiresAt = r.RequestedAt.UTC(), r.ExpiresAt.UTC()
	r.FirstUsedAt = utcPtr(r.FirstUsedAt)
	r.Data = optBlob(r.Data)
	r.Successor = optBlob(r.Successor)
	return r, nil
}

// qualify prefixes every column of a comma-separated list with alias, for
// queries that join another table with columns of the same name.
func qualify(alias, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// getToken reads a token and its client's revocation instant in one round
// trip: introspection needs both on every request, and the join (on
// client_revocations' primary key) is one index probe where a second
// query would be a second round trip.
var getToken = `SELECT ` + qualify("t", tokenCols) + `, cr.revoked_at FROM tokens t
	LEFT JOIN client_revocations cr ON cr.client_id = t.client_id
	WHERE t.kind = $1 AND t.signature = $2`

// scanTokenRevoked scans a row of getToken.
func scanTokenRevoked(row pgx.CollectableRow) (storage.TokenRecord, error) {
	var revoked *time.Time // NULL when the client has no instant
	r, err := scanTokenPlus(row, &revoked)
	if err != nil {
		return storage.TokenRecord{}, err
	}
	if revoked != nil {
		r.ClientRevokedAt = revoked.UTC()
	}
	return r, nil
}

const insertToken = `INSERT INTO tokens (` + tokenCols + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`

func tokenArgs(rec storage.TokenRecord) []any {
	var successor []byte // NULL when unset
	if len(rec.Successor) > 0 {
		successor = rec.Successor
	}
	return []any{string(rec.Kind), rec.Signature, rec.RequestID, rec.ClientID, rec.Subject, rec.Active,
		ts(rec.RequestedAt), ts(rec.ExpiresAt), blob(rec.Data), rec.AccessSignature,
		tsPtr(rec.FirstUsedAt), successor}
}

// CreateToken inserts rec; ErrConflict if (Kind, Signature) exists.
func (s *Store) CreateToken(ctx context.Context, rec storage.TokenRecord) error {
	_, err := s.q(ctx).Exec(ctx, insertToken, tokenArgs(rec)...)
	return mapErr("create token", err)
}

// CreateTokens inserts every record in one round trip: a pgx batch is one
// pipeline ended by a single Sync, which the server runs as one implicit
// transaction when no transaction is open, so a duplicate in any row
// (stored, or earlier in the batch) rolls back the rows before it too. In
// the caller's transaction the batch runs there, and the failed statement
// aborts that transaction, so nothing of it can be committed either.
func (s *Store) CreateTokens(ctx context.Context, recs []storage.TokenRecord) error {
	if len(recs) == 0 {
		return nil
	}
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(recs))}
	for _, rec := range recs {
		b.Queue(insertToken, tokenArgs(rec)...)
	}
	// Close reads every result and returns the first error.
	return mapErr("create tokens", s.q(ctx).SendBatch(ctx, b).Close())
}

// GetToken returns the record whatever its Active flag, with its client's
// revocation instant (zero when none).
func (s *Store) GetToken(ctx context.Context, kind storage.TokenKind, signature string) (storage.TokenRecord, error) {
	rows, _ := s.q(ctx).Query(ctx, getToken, string(kind), signature)
	r, err := pgx.CollectExactlyOneRow(rows, scanTokenRevoked)
	if err != nil {
		return storage.TokenRecord{}, mapErr("get token", err)
	}
	return r, nil
}

// DeleteToken removes a record; a missing record is not an error.
func (s *Store) DeleteToken(ctx context.Context, kind storage.TokenKind, signature string) error {
	_, err := s.q(ctx).Exec(ctx, `DELETE FROM tokens WHERE kind = $1 AND signature = $2`,
		string(kind), signature)
	s.noteAccess(ctx, kind)
	return mapErr("delete token", err)
}

// DeactivateToken flips Active to false only if it is still true: the
// conditional update is what lets exactly one of several concurrent
// rotations of the same refresh token (or redemptions of the same code)
// win. A loser gets ErrConflict, an unknown signature ErrNotFound.
func (s *Store) DeactivateToken(ctx context.Context, kind storage.TokenKind, signature string, at time.Time, successor []byte) error {
	const op = "deactivate token"
	var succ []byte // NULL keeps the stored successor
	if successor != nil {
		succ = blob(successor)
	}
	tag, err := s.q(ctx).Exec(ctx, `UPDATE tokens SET active = false,
		first_used_at = COALESCE(first_used_at, $3), successor = COALESCE($4, successor)
		WHERE kind = $1 AND signature = $2 AND active`,
		string(kind), signature, ts(at), succ)
	s.noteAccess(ctx, kind)
	if err != nil {
		return mapErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return s.exists(ctx, op, `SELECT 1 FROM tokens WHERE kind = $1 AND signature = $2`,
			string(kind), signature)
	}
	return nil
}

// DeactivateByRequestID deactivates every active record of kind in the
// grant family and returns how many changed.
func (s *Store) DeactivateByRequestID(ctx context.Context, kind storage.TokenKind, requestID string) (int, error) {
	tag, err := s.q(ctx).Exec(ctx, `UPDATE tokens SET active = false
		WHERE request_id = $2 AND kind = $1 AND active`, string(kind), requestID)
	s.noteAccess(ctx, kind)
	if err != nil {
		return 0, mapErr("deactivate tokens by request id", err)
	}
	return int(tag.RowsAffected()), nil
}

// noteAccess notes a revoking write if it touched access tokens.
func (s *Store) noteAccess(ctx context.Context, kind storage.TokenKind) {
	if kind == storage.KindAccessToken {
		s.noteRevocation(ctx)
	}
}

// DeleteByRequestID deletes every record of kind in the grant family.
func (s *Store) DeleteByRequestID(ctx context.Context, kind storage.TokenKind, requestID string) (int, error) {
	tag, err := s.q(ctx).Exec(ctx, `DELETE FROM tokens WHERE request_id = $2 AND kind = $1`,
		string(kind), requestID)
	s.noteAccess(ctx, kind)
	if err != nil {
		return 0, mapErr("delete tokens by request id", err)
	}
	return int(tag.RowsAffected()), nil
}

// ListByRequestID lists the family's records of kind, oldest first (by
// RequestedAt, then insertion order).
func (s *Store) ListByRequestID(ctx context.Context, kind storage.TokenKind, requestID string) ([]storage.TokenRecord, error) {
	rows, _ := s.q(ctx).Query(ctx, `SELECT `+tokenCols+` FROM tokens
		WHERE request_id = $2 AND kind = $1 ORDER BY requested_at, seq`, string(kind), requestID)
	recs, err := pgx.CollectRows(rows, scanToken)
	if err != nil {
		return nil, mapErr("list tokens by request id", err)
	}
	return recs, nil
}

// DeleteExpiredTokens deletes up to limit records of any kind that expired
// before `before`.
func (s *Store) DeleteExpiredTokens(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.deleteBatch(ctx, "delete expired tokens", "tokens", "expires_at < $1", limit, ts(before))
}

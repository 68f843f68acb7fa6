package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/sesameauth/sesame/storage"
)

const tokenCols = `kind, signature, request_id, client_id, subject, active, requested_at,
	expires_at, data, access_signature, first_used_at, successor`

// scanToken scans tokenCols and then, into extra, any columns selected
// after them.
func scanToken(row interface{ Scan(...any) error }, extra ...any) (storage.TokenRecord, error) {
	var (
		r    storage.TokenRecord
		kind string
	)
	dst := []any{&kind, &r.Signature, &r.RequestID, &r.ClientID, &r.Subject, &r.Active,
		timeCol{&r.RequestedAt}, timeCol{&r.ExpiresAt}, blobCol{&r.Data}, &r.AccessSignature,
		nullTimeCol{&r.FirstUsedAt}, blobCol{&r.Successor}}
	err := row.Scan(append(dst, extra...)...)
	r.Kind = storage.TokenKind(kind)
	return r, err
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

// getToken reads a token and its client's revocation instant in one
// statement: introspection needs both on every request, and the join
// (on client_revocations' primary key) costs one index probe where a
// second query would cost another statement run.
var getToken = `SELECT ` + qualify("t", tokenCols) + `, cr.revoked_at FROM tokens t
	LEFT JOIN client_revocations cr ON cr.client_id = t.client_id
	WHERE t.kind = ? AND t.signature = ?`

const insertToken = `INSERT INTO tokens (` + tokenCols + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func tokenArgs(r storage.TokenRecord) []any {
	return []any{string(r.Kind), r.Signature, r.RequestID, r.ClientID, r.Subject, boolInt(r.Active),
		ts(r.RequestedAt), ts(r.ExpiresAt), blob(r.Data), r.AccessSignature,
		tsPtr(r.FirstUsedAt), blob(r.Successor)}
}

// CreateToken inserts a record; ErrConflict if (Kind, Signature) exists.
func (s *Store) CreateToken(ctx context.Context, r storage.TokenRecord) error {
	_, err := s.q(ctx).ExecContext(ctx, insertToken, tokenArgs(r)...)
	return wrap("create token", err)
}

// CreateTokens inserts every record in one transaction (the caller's, or
// one of its own): one write lock and one WAL commit for the whole batch,
// each row through the prepared INSERT of CreateToken. A duplicate (stored
// or inside the batch) fails the batch and keeps none of it.
func (s *Store) CreateTokens(ctx context.Context, recs []storage.TokenRecord) error {
	if len(recs) == 0 {
		return nil
	}
	outer := s.txFrom(ctx) != nil
	if !outer {
		// Prepare (or find) the statement through the pool before BEGIN:
		// once the transaction holds the write lock, nothing may be
		// prepared on another connection (see cachedQuerier.stmt).
		s.stmts.get(ctx, insertToken)
	}
	err := s.inTx(ctx, func(q querier) error {
		tx := q.(*sql.Tx) // inTx always hands over the transaction
		if outer {
			// SQLite undoes only the failing statement, so in the caller's
			// transaction the rows before a duplicate would stay (and be
			// committed if the caller goes on): a savepoint takes them back.
			return withSavepoint(ctx, tx, func() error { return insertTokens(ctx, s.stmts, tx, recs) })
		}
		return insertTokens(ctx, s.stmts, tx, recs)
	})
	return wrap("create tokens", err)
}

// insertTokens runs the token INSERT once per record in tx, through one
// statement: the cached one (re-used on the transaction's connection) or,
// if none is cached yet, one prepared on tx.
func insertTokens(ctx context.Context, c *stmtCache, tx *sql.Tx, recs []storage.TokenRecord) error {
	var st *sql.Stmt
	if cached := c.lookup(insertToken); cached != nil {
		st = tx.StmtContext(ctx, cached)
	} else {
		var err error
		if st, err = tx.PrepareContext(ctx, insertToken); err != nil {
			return err
		}
	}
	defer st.Close()
	for _, r := range recs {
		if _, err := st.ExecContext(ctx, tokenArgs(r)...); err != nil {
			return err
		}
	}
	return nil
}

// withSavepoint runs fn inside a savepoint of tx, rolled back to if fn
// fails so that the transaction carries on without fn's writes.
func withSavepoint(ctx context.Context, tx *sql.Tx, fn func() error) error {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT sesame_batch`); err != nil {
		return err
	}
	if err := fn(); err != nil {
		// If this fails too the transaction is unusable and its owner's
		// rollback (the usual response to err) discards everything.
		bg := context.WithoutCancel(ctx)
		if _, rerr := tx.ExecContext(bg, `ROLLBACK TO sesame_batch`); rerr == nil {
			_, _ = tx.ExecContext(bg, `RELEASE sesame_batch`)
		}
		return err
	}
	_, err := tx.ExecContext(ctx, `RELEASE sesame_batch`)
	return err
}

// GetToken returns the record whatever its Active flag, with its client's
// revocation instant (zero when none); ErrNotFound if absent.
func (s *Store) GetToken(ctx context.Context, kind storage.TokenKind, signature string) (storage.TokenRecord, error) {
	var revoked *time.Time // NULL when the client has no instant
	r, err := scanToken(s.q(ctx).QueryRowContext(ctx, getToken, string(kind), signature), nullTimeCol{&revoked})
	if err != nil {
		return storage.TokenRecord{}, wrap("get token", err)
	}
	if revoked != nil {
		r.ClientRevokedAt = *revoked
	}
	return r, nil
}

// DeleteToken removes a record; a missing record is not an error.
func (s *Store) DeleteToken(ctx context.Context, kind storage.TokenKind, signature string) error {
	_, err := s.q(ctx).ExecContext(ctx, `DELETE FROM tokens WHERE kind = ? AND signature = ?`,
		string(kind), signature)
	s.noteAccess(ctx, kind)
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
	s.noteAccess(ctx, kind)
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
	defer s.noteAccess(ctx, kind)
	return s.execCount(ctx, "deactivate tokens by request id",
		`UPDATE tokens SET active = 0 WHERE kind = ? AND request_id = ? AND active = 1`,
		string(kind), requestID)
}

// noteAccess notes a revoking write if it touched access tokens.
func (s *Store) noteAccess(ctx context.Context, kind storage.TokenKind) {
	if kind == storage.KindAccessToken {
		s.noteRevocation(ctx)
	}
}

// DeleteByRequestID deletes every record of the kind in the family.
func (s *Store) DeleteByRequestID(ctx context.Context, kind storage.TokenKind, requestID string) (int, error) {
	defer s.noteAccess(ctx, kind)
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

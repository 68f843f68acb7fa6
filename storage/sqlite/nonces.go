package sqlite

import (
	"context"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// ClaimNonce records (ns, value) until exp. One upsert statement: a new
// entry is inserted, an expired one (at the store's clock) is replaced, and
// an unexpired one is left alone, which shows as zero changed rows
// (ErrConflict). SQLite serialises writers, so exactly one concurrent
// caller inserts.
func (s *Store) ClaimNonce(ctx context.Context, ns, value string, exp time.Time) error {
	const op = "claim nonce"
	n, err := s.execCount(ctx, op, `INSERT INTO nonces (ns, value, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (ns, value) DO UPDATE SET expires_at = excluded.expires_at
		WHERE nonces.expires_at <= ?`, ns, value, ts(exp), ts(s.now()))
	if ns == storage.NonceJWTDenylist {
		s.noteRevocation(ctx)
	}
	if err != nil {
		return err
	}
	if n == 0 {
		return conflict(op, "already claimed")
	}
	return nil
}

// NonceExists reports whether an unexpired entry exists at now.
func (s *Store) NonceExists(ctx context.Context, ns, value string, now time.Time) (bool, error) {
	var ok bool
	err := s.q(ctx).QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM nonces
		WHERE ns = ? AND value = ? AND expires_at > ?)`, ns, value, ts(now)).Scan(&ok)
	return ok, wrap("nonce exists", err)
}

// DeleteExpiredNonces deletes up to limit entries that expired before `before`.
func (s *Store) DeleteExpiredNonces(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.execCount(ctx, "delete expired nonces", `DELETE FROM nonces WHERE rowid IN
		(SELECT rowid FROM nonces WHERE expires_at < ? LIMIT ?)`, ts(before), batchLimit(limit))
}

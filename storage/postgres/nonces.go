package postgres

import (
	"context"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// ClaimNonce records (ns, value) until exp. The insert and the
// "replace only if expired" check are one statement: a concurrent claim of
// the same value waits on the row and then sees it unexpired, so exactly
// one caller wins and the others get ErrConflict.
func (s *Store) ClaimNonce(ctx context.Context, ns, value string, exp time.Time) error {
	const op = "claim nonce"
	tag, err := s.q(ctx).Exec(ctx, `INSERT INTO nonces (ns, value, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (ns, value) DO UPDATE SET expires_at = EXCLUDED.expires_at
		WHERE nonces.expires_at <= $4`,
		ns, value, ts(exp), ts(s.now()))
	if ns == storage.NonceJWTDenylist {
		s.noteRevocation(ctx)
	}
	if err != nil {
		return mapErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return conflict(op)
	}
	return nil
}

// NonceExists reports whether an unexpired entry exists at now.
func (s *Store) NonceExists(ctx context.Context, ns, value string, now time.Time) (bool, error) {
	var ok bool
	err := s.q(ctx).QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM nonces
		WHERE ns = $1 AND value = $2 AND expires_at > $3)`, ns, value, ts(now)).Scan(&ok)
	if err != nil {
		return false, mapErr("nonce exists", err)
	}
	return ok, nil
}

// DeleteExpiredNonces deletes up to limit entries that expired before
// `before`.
func (s *Store) DeleteExpiredNonces(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.deleteBatch(ctx, "delete expired nonces", "nonces", "expires_at < $1", limit, ts(before))
}

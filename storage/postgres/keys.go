package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesameauth/sesame/storage"
)

const keyCols = `kid, alg, use, state, public_jwk, private_enc, created_at, activated_at, retired_at, retire_after`

func scanKey(row pgx.CollectableRow) (storage.SigningKey, error) {
	var (
		k     storage.SigningKey
		state string
	)
	err := row.Scan(&k.KID, &k.Alg, &k.Use, &state, &k.PublicJWK, &k.PrivateEnc,
		&k.CreatedAt, &k.ActivatedAt, &k.RetiredAt, &k.RetireAfter)
	if err != nil {
		return storage.SigningKey{}, err
	}
	k.State = storage.KeyState(state)
	k.PublicJWK, k.PrivateEnc = optBlob(k.PublicJWK), optBlob(k.PrivateEnc)
	k.CreatedAt = k.CreatedAt.UTC()
	k.ActivatedAt, k.RetiredAt, k.RetireAfter = utcPtr(k.ActivatedAt), utcPtr(k.RetiredAt), utcPtr(k.RetireAfter)
	return k, nil
}

// CreateKey inserts k; ErrConflict on a duplicate kid, or when k is
// active and its algorithm already has an active key.
func (s *Store) CreateKey(ctx context.Context, k storage.SigningKey) error {
	_, err := s.q(ctx).Exec(ctx, `INSERT INTO signing_keys (`+keyCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		k.KID, k.Alg, k.Use, string(k.State), blob(k.PublicJWK), blob(k.PrivateEnc),
		ts(k.CreatedAt), tsPtr(k.ActivatedAt), tsPtr(k.RetiredAt), tsPtr(k.RetireAfter))
	return mapErr("create key", err)
}

// GetKey returns the key kid.
func (s *Store) GetKey(ctx context.Context, kid string) (storage.SigningKey, error) {
	rows, _ := s.q(ctx).Query(ctx, `SELECT `+keyCols+` FROM signing_keys WHERE kid = $1`, kid)
	k, err := pgx.CollectExactlyOneRow(rows, scanKey)
	if err != nil {
		return storage.SigningKey{}, mapErr("get key", err)
	}
	return k, nil
}

// ListKeys lists every key in every state, oldest first.
func (s *Store) ListKeys(ctx context.Context) ([]storage.SigningKey, error) {
	rows, _ := s.q(ctx).Query(ctx, `SELECT `+keyCols+` FROM signing_keys ORDER BY created_at, kid`)
	ks, err := pgx.CollectRows(rows, scanKey)
	if err != nil {
		return nil, mapErr("list keys", err)
	}
	return ks, nil
}

// ActivateKey makes the pending key kid the active key of its algorithm
// and retires the active key prevKID, all or nothing. Both rows are locked
// (FOR UPDATE) before anything changes, so a concurrent rotation either
// waits and then sees that the active key is no longer prevKID
// (ErrConflict), or — when there was no active key to lock — trips the
// one-active-key-per-algorithm unique index (ErrConflict as well).
func (s *Store) ActivateKey(ctx context.Context, kid, prevKID string, at, retireAfter time.Time) error {
	const op = "activate key"
	return storage.InTx(ctx, s, func(ctx context.Context) error {
		q := s.q(ctx)
		var alg, state string
		err := q.QueryRow(ctx, `SELECT alg, state FROM signing_keys WHERE kid = $1 FOR UPDATE`, kid).
			Scan(&alg, &state)
		if err != nil {
			return mapErr(op, err)
		}
		if state != string(storage.KeyPending) {
			return conflict(op)
		}
		var current string
		err = q.QueryRow(ctx, `SELECT kid FROM signing_keys WHERE alg = $1 AND state = 'active' FOR UPDATE`, alg).
			Scan(&current)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return mapErr(op, err)
		}
		if current != prevKID {
			return conflict(op)
		}
		if current != "" {
			// Retire first: the unique index allows one active key per algorithm.
			if _, err := q.Exec(ctx, `UPDATE signing_keys SET state = 'retired', retired_at = $2, retire_after = $3
				WHERE kid = $1`, current, ts(at), ts(retireAfter)); err != nil {
				return mapErr(op, err)
			}
		}
		if _, err := q.Exec(ctx, `UPDATE signing_keys SET state = 'active', activated_at = $2
			WHERE kid = $1`, kid, ts(at)); err != nil {
			return mapErr(op, err)
		}
		return nil
	})
}

// DeleteKey removes the key kid; ErrNotFound if absent (like every other
// single-row delete, and like the SQLite backend).
func (s *Store) DeleteKey(ctx context.Context, kid string) error {
	tag, err := s.q(ctx).Exec(ctx, `DELETE FROM signing_keys WHERE kid = $1`, kid)
	if err != nil {
		return mapErr("delete key", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("delete key")
	}
	return nil
}

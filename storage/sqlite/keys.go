package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/sesameauth/sesame/storage"
)

const keyCols = `kid, alg, use, state, public_jwk, private_enc, created_at, activated_at,
	retired_at, retire_after`

func scanKey(row interface{ Scan(...any) error }) (storage.SigningKey, error) {
	var (
		k     storage.SigningKey
		state string
	)
	err := row.Scan(&k.KID, &k.Alg, &k.Use, &state, blobCol{&k.PublicJWK}, blobCol{&k.PrivateEnc},
		timeCol{&k.CreatedAt}, nullTimeCol{&k.ActivatedAt}, nullTimeCol{&k.RetiredAt},
		nullTimeCol{&k.RetireAfter})
	k.State = storage.KeyState(state)
	return k, err
}

// CreateKey inserts a key; ErrConflict on duplicate kid (or on a second
// active key of one algorithm).
func (s *Store) CreateKey(ctx context.Context, k storage.SigningKey) error {
	_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO signing_keys (`+keyCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.KID, k.Alg, k.Use, string(k.State), blob(k.PublicJWK), blob(k.PrivateEnc),
		ts(k.CreatedAt), tsPtr(k.ActivatedAt), tsPtr(k.RetiredAt), tsPtr(k.RetireAfter))
	return wrap("create key", err)
}

// GetKey returns a key; ErrNotFound if absent.
func (s *Store) GetKey(ctx context.Context, kid string) (storage.SigningKey, error) {
	k, err := scanKey(s.q(ctx).QueryRowContext(ctx, `SELECT `+keyCols+` FROM signing_keys WHERE kid = ?`, kid))
	return k, wrap("get key", err)
}

// ListKeys lists every key, oldest first.
func (s *Store) ListKeys(ctx context.Context) ([]storage.SigningKey, error) {
	const op = "list keys"
	rows, err := s.q(ctx).QueryContext(ctx, `SELECT `+keyCols+` FROM signing_keys ORDER BY created_at, kid`)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []storage.SigningKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, k)
	}
	return out, wrap(op, rows.Err())
}

// ActivateKey makes kid the active key of its algorithm, retiring the
// previous one, as a compare-and-swap on the active kid the caller saw.
// The check and both updates share one BEGIN IMMEDIATE transaction, so two
// instances rotating at once run one after the other and the second sees
// the first's key (ErrConflict). ErrNotFound if kid does not exist.
func (s *Store) ActivateKey(ctx context.Context, kid, prevKID string, at, retireAfter time.Time) error {
	err := s.inTx(ctx, func(q querier) error {
		var alg, state string
		err := q.QueryRowContext(ctx, `SELECT alg, state FROM signing_keys WHERE kid = ?`, kid).Scan(&alg, &state)
		if errors.Is(err, sql.ErrNoRows) {
			return missing(kid)
		}
		if err != nil {
			return err
		}
		if storage.KeyState(state) != storage.KeyPending {
			return lost("key " + kid + " is " + state + ", not pending")
		}
		var current string
		err = q.QueryRowContext(ctx, `SELECT kid FROM signing_keys WHERE alg = ? AND state = ?`,
			alg, string(storage.KeyActive)).Scan(&current)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if current != prevKID {
			return lost("active key is " + current + ", caller saw " + prevKID)
		}
		if current != "" {
			// Retire first: the unique index allows one active key per alg.
			if _, err := q.ExecContext(ctx, `UPDATE signing_keys SET state = ?, retired_at = ?,
				retire_after = ? WHERE kid = ?`,
				string(storage.KeyRetired), ts(at), ts(retireAfter), current); err != nil {
				return err
			}
		}
		_, err = q.ExecContext(ctx, `UPDATE signing_keys SET state = ?, activated_at = ? WHERE kid = ?`,
			string(storage.KeyActive), ts(at), kid)
		return err
	})
	return wrap("activate key", err)
}

// DeleteKey removes a key; ErrNotFound if absent.
func (s *Store) DeleteKey(ctx context.Context, kid string) error {
	return s.deleteOne(ctx, "delete key", `DELETE FROM signing_keys WHERE kid = ?`, kid)
}

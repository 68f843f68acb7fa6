package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesameauth/sesame/storage"
)

const counterCols = `key, failures, first_at, last_at, locked_until`

func scanCounter(row pgx.CollectableRow) (storage.FailureCounter, error) {
	var c storage.FailureCounter
	if err := row.Scan(&c.Key, &c.Failures, &c.FirstAt, &c.LastAt, &c.LockedUntil); err != nil {
		return storage.FailureCounter{}, err
	}
	c.FirstAt, c.LastAt = c.FirstAt.UTC(), c.LastAt.UTC()
	c.LockedUntil = utcPtr(c.LockedUntil)
	return c, nil
}

// RecordFailure counts one failure of key in a single upsert, so
// concurrent failures from several instances are all counted. A counter
// idle since before resetBefore starts again from 1. LockedUntil is left
// alone: only SetLock and ResetFailures change a lock, so a reset window
// shorter than the lock can never unlock an account early. LastAt never
// moves backwards when failures are recorded out of order.
func (s *Store) RecordFailure(ctx context.Context, key string, at, resetBefore time.Time) (storage.FailureCounter, error) {
	rows, _ := s.q(ctx).Query(ctx, `INSERT INTO failure_counters AS c (`+counterCols+`)
		VALUES ($1, 1, $2, $2, NULL)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN c.last_at < $3 THEN 1 ELSE c.failures + 1 END,
			first_at = CASE WHEN c.last_at < $3 THEN $2 ELSE c.first_at END,
			last_at = GREATEST(c.last_at, $2)
		RETURNING `+counterCols, key, ts(at), ts(resetBefore))
	c, err := pgx.CollectExactlyOneRow(rows, scanCounter)
	if err != nil {
		return storage.FailureCounter{}, mapErr("record failure", err)
	}
	return c, nil
}

// SetLock sets LockedUntil on an existing counter; ErrNotFound if absent.
func (s *Store) SetLock(ctx context.Context, key string, until time.Time) error {
	tag, err := s.q(ctx).Exec(ctx, `UPDATE failure_counters SET locked_until = $2 WHERE key = $1`, key, ts(until))
	if err != nil {
		return mapErr("set lock", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("set lock")
	}
	return nil
}

// GetFailures returns the counter of key; ErrNotFound if none.
func (s *Store) GetFailures(ctx context.Context, key string) (storage.FailureCounter, error) {
	rows, _ := s.q(ctx).Query(ctx, `SELECT `+counterCols+` FROM failure_counters WHERE key = $1`, key)
	c, err := pgx.CollectExactlyOneRow(rows, scanCounter)
	if err != nil {
		return storage.FailureCounter{}, mapErr("get failures", err)
	}
	return c, nil
}

// ResetFailures deletes the counter; a missing counter is not an error.
func (s *Store) ResetFailures(ctx context.Context, key string) error {
	_, err := s.q(ctx).Exec(ctx, `DELETE FROM failure_counters WHERE key = $1`, key)
	return mapErr("reset failures", err)
}

// DeleteStaleCounters deletes up to limit counters idle since before
// `before` and not locked at `before`. The batch skips rows a concurrent
// RecordFailure holds, and FOR UPDATE re-checks the condition on a row
// updated meanwhile, so a counter that just counted a failure is kept.
func (s *Store) DeleteStaleCounters(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.deleteBatch(ctx, "delete stale counters", "failure_counters",
		"last_at < $1 AND (locked_until IS NULL OR locked_until < $1)", limit, ts(before))
}

package sqlite

import (
	"context"
	"time"

	"github.com/sesameauth/sesame/storage"
)

const failureCols = `key, failures, first_at, last_at, locked_until`

func scanFailures(row interface{ Scan(...any) error }) (storage.FailureCounter, error) {
	var c storage.FailureCounter
	err := row.Scan(&c.Key, &c.Failures, timeCol{&c.FirstAt}, timeCol{&c.LastAt}, nullTimeCol{&c.LockedUntil})
	return c, err
}

// RecordFailure increments the counter of key in one upsert, so concurrent
// failures are all counted. A counter last touched before resetBefore
// starts again from 1 (with a new FirstAt); a lock in force is kept either
// way, so a failure can never lift it.
func (s *Store) RecordFailure(ctx context.Context, key string, at, resetBefore time.Time) (storage.FailureCounter, error) {
	c, err := scanFailures(s.q(ctx).QueryRowContext(ctx, `INSERT INTO failure_counters
			(key, failures, first_at, last_at) VALUES (?, 1, ?, ?)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN failure_counters.last_at < ?4 THEN 1
				ELSE failure_counters.failures + 1 END,
			first_at = CASE WHEN failure_counters.last_at < ?4 THEN excluded.first_at
				ELSE failure_counters.first_at END,
			last_at = MAX(failure_counters.last_at, excluded.last_at)
		RETURNING `+failureCols, key, ts(at), ts(at), ts(resetBefore)))
	return c, wrap("record failure", err)
}

// SetLock sets LockedUntil on an existing counter; ErrNotFound if absent.
func (s *Store) SetLock(ctx context.Context, key string, until time.Time) error {
	const op = "set lock"
	n, err := s.execCount(ctx, op, `UPDATE failure_counters SET locked_until = ? WHERE key = ?`, ts(until), key)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(op, "failure counter")
	}
	return nil
}

// GetFailures returns the counter of key; ErrNotFound if none.
func (s *Store) GetFailures(ctx context.Context, key string) (storage.FailureCounter, error) {
	c, err := scanFailures(s.q(ctx).QueryRowContext(ctx,
		`SELECT `+failureCols+` FROM failure_counters WHERE key = ?`, key))
	return c, wrap("get failures", err)
}

// ResetFailures deletes the counter; a missing one is not an error.
func (s *Store) ResetFailures(ctx context.Context, key string) error {
	_, err := s.q(ctx).ExecContext(ctx, `DELETE FROM failure_counters WHERE key = ?`, key)
	return wrap("reset failures", err)
}

// DeleteStaleCounters deletes up to limit counters idle since before
// `before` and not locked at `before`, in one batch so the write lock is
// held briefly; failure_counters_last_at_idx finds them without a scan.
func (s *Store) DeleteStaleCounters(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.execCount(ctx, "delete stale counters", `DELETE FROM failure_counters WHERE rowid IN
		(SELECT rowid FROM failure_counters WHERE last_at < ?1
			AND (locked_until IS NULL OR locked_until < ?1) LIMIT ?2)`, ts(before), batchLimit(limit))
}

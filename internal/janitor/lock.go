package janitor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Locker grants a named lock to one holder at a time without waiting:
// TryLock returns ok=false when someone else holds it. unlock must be
// called exactly once when ok is true.
type Locker interface {
	TryLock(ctx context.Context, name string) (unlock func(), ok bool, err error)
}

// LocalLocker is a Locker for one process (SQLite): names are locked in
// memory. The zero value is ready to use.
type LocalLocker struct {
	mu   sync.Mutex
	held map[string]bool
}

// TryLock implements Locker.
func (l *LocalLocker) TryLock(_ context.Context, name string) (func(), bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[name] {
		return nil, false, nil
	}
	if l.held == nil {
		l.held = map[string]bool{}
	}
	l.held[name] = true
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			delete(l.held, name)
			l.mu.Unlock()
		})
	}, true, nil
}

// advisoryClass is the first key of Sesame's two-key advisory locks, so
// that they cannot collide with the single bigint key goose uses for
// migrations or with locks of other applications hashing the same name.
const advisoryClass = 0x5e5a3e // "sesame"

// PostgresLocker is a Locker over Postgres session advisory locks: the lock
// lives as long as the connection that took it, so a crashed holder (or a
// lost connection) releases it by itself.
type PostgresLocker struct {
	Pool *pgxpool.Pool
}

// TryLock takes pg_try_advisory_lock on a connection it keeps out of the
// pool until unlock.
func (l PostgresLocker) TryLock(ctx context.Context, name string) (func(), bool, error) {
	if l.Pool == nil {
		return nil, false, errors.New("janitor: PostgresLocker without a pool")
	}
	conn, err := l.Pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("janitor: acquire connection for lock %q: %w", name, err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, hashtext($2))", advisoryClass, name).Scan(&ok); err != nil {
		conn.Release()
		return nil, false, fmt.Errorf("janitor: try advisory lock %q: %w", name, err)
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			// The caller's context may be over by now; unlocking must
			// still happen, or the pooled connection would keep the lock.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock($1, hashtext($2))", advisoryClass, name); err != nil {
				// Closing the session is the only other way to drop
				// a session lock.
				_ = conn.Conn().Close(ctx)
			}
			conn.Release()
		})
	}, true, nil
}

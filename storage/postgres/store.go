package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/sesameauth/sesame/migrations"
	"github.com/sesameauth/sesame/storage"
)

// Store is the Postgres implementation of storage.Store. It is safe for
// concurrent use.
type Store struct {
	pool *pgxpool.Pool
	// session carries what needs one server session for longer than a
	// transaction (LISTEN, session advisory locks, the migration lock):
	// the pool of Options.SessionURL, or pool itself when that is unset.
	session *pgxpool.Pool
	// revEpoch is storage.Store.RevocationEpoch (tx.go, noteRevocation).
	revEpoch atomic.Uint64
	// now is the clock for the few decisions the contract leaves to the
	// backend (whether a nonce has expired when it is claimed again).
	now func() time.Time
}

var _ storage.Store = (*Store)(nil)

const (
	// defaultConnectTimeout bounds one connection attempt when the URL has
	// no connect_timeout: a wrong host must fail start-up quickly instead of
	// waiting for the kernel's TCP timeout.
	defaultConnectTimeout = 3 * time.Second
	// openPingTimeout bounds the connectivity check of Open.
	openPingTimeout = 4 * time.Second
)

// Open parses url (a postgres:// URL or a key=value DSN, pgxpool settings
// such as pool_max_conns included), creates the pool and checks that the
// server answers. It does not migrate; call Migrate for that. It is
// OpenWith without a separate session URL.
func Open(ctx context.Context, url string) (*Store, error) {
	return OpenWith(ctx, url, Options{})
}

// describe names the server and database of cfg for error messages,
// without the password.
func describe(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	hosts := fmt.Sprintf("%s:%d", c.Host, c.Port)
	seen := map[string]bool{hosts: true}
	for _, f := range c.Fallbacks {
		// sslmode=prefer lists each host twice (TLS, then plain).
		if h := fmt.Sprintf("%s:%d", f.Host, f.Port); !seen[h] {
			seen[h] = true
			hosts += "," + h
		}
	}
	return fmt.Sprintf("%s/%s as %s", hosts, c.Database, c.User)
}

// Pool exposes the connection pool for transactions (publishing
// notifications, pool metrics). Behind a transaction-pooling proxy it
// must not carry session state: use SessionPool for that.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// SessionPool is the pool of direct connections for LISTEN, session
// advisory locks and migrations: Options.SessionURL's, or Pool.
func (s *Store) SessionPool() *pgxpool.Pool { return s.session }

// Migrate applies every pending migration and returns how many it applied.
// Concurrent migrators (several instances starting at once) are serialised
// by goose's session advisory lock, so the schema is applied exactly once.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	// The session pool: goose's lock would not hold across a
	// transaction-pooling proxy.
	db := stdlib.OpenDBFromPool(s.session)
	defer db.Close() // closes the database/sql wrapper only, not the pool
	n, err := migrations.Up(ctx, db, migrations.Postgres)
	if err != nil {
		return n, fmt.Errorf("postgres: migrate: %w", err)
	}
	return n, nil
}

// MigrationStatus reports every known migration and whether it is applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]migrations.Status, error) {
	db := stdlib.OpenDBFromPool(s.session)
	defer db.Close()
	st, err := migrations.List(ctx, db, migrations.Postgres)
	if err != nil {
		return nil, fmt.Errorf("postgres: migration status: %w", err)
	}
	return st, nil
}

// ErrReadOnly is returned by Ping when the server answers but does not
// take writes: a standby, or a primary being demoted during a failover.
var ErrReadOnly = errors.New("postgres: the server is read-only (a standby, or no primary at the moment)")

// Ping checks that the server answers and takes writes (/readyz): an
// authorization server that cannot store a token cannot serve. A
// connection found on a read-only server is closed, so that the pool
// connects again and finds the primary (target_session_attrs).
func (s *Store) Ping(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	defer conn.Release()
	var ro string
	if err := conn.QueryRow(ctx, "SELECT current_setting('transaction_read_only')").Scan(&ro); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	if ro == "on" {
		_ = conn.Conn().Close(ctx)
		return ErrReadOnly
	}
	return nil
}

// Close waits for acquired connections to be released and closes the
// pools.
func (s *Store) Close() error {
	if s.session != s.pool {
		s.session.Close()
	}
	s.pool.Close()
	return nil
}

// querier is what both the pool and a transaction offer; every method runs
// its SQL through the one q returns. Methods write `rows, _ := Query(...)`
// before pgx.CollectRows on purpose: pgx reports a failed Query again from
// rows.Err, which CollectRows returns.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// q returns the transaction carried by ctx, or the pool.
func (s *Store) q(ctx context.Context) querier {
	if h := s.txFrom(ctx); h != nil {
		return h.tx
	}
	return s.pool
}

// mapErr wraps a driver error with the operation name and maps the
// conditions callers branch on to the storage sentinels. It is the only
// place that looks at SQLSTATE codes.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", op, storage.ErrNotFound)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505", // unique_violation
			"40001", // serialization_failure
			"40P01": // deadlock_detected
			return fmt.Errorf("postgres: %s: %w: %w", op, storage.ErrConflict, err)
		}
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// notFound and conflict build the errors of a conditional write that
// matched no row.
func notFound(op string) error { return fmt.Errorf("postgres: %s: %w", op, storage.ErrNotFound) }
func conflict(op string) error { return fmt.Errorf("postgres: %s: %w", op, storage.ErrConflict) }

// exists reports whether a row matches; used after a conditional update
// changed nothing, to tell "lost the race" (ErrConflict) from "absent"
// (ErrNotFound).
func (s *Store) exists(ctx context.Context, op, sql string, args ...any) error {
	var ok bool
	if err := s.q(ctx).QueryRow(ctx, "SELECT EXISTS ("+sql+")", args...).Scan(&ok); err != nil {
		return mapErr(op, err)
	}
	if ok {
		return conflict(op)
	}
	return notFound(op)
}

// deleteBatch deletes up to limit rows of table matching where (with args),
// for the expiry janitors. Going through ctid keeps each statement bounded
// on a large table, and SKIP LOCKED lets several instances sweep at once
// without waiting on each other. A limit <= 0 deletes nothing (as in the
// SQLite backend): a janitor bug must not turn into an unbounded delete.
func (s *Store) deleteBatch(ctx context.Context, op, table, where string, limit int, args ...any) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	args = append(args, limit)
	sql := fmt.Sprintf(`DELETE FROM %[1]s WHERE ctid = ANY(ARRAY(
		SELECT ctid FROM %[1]s WHERE %[2]s LIMIT $%[3]d FOR UPDATE SKIP LOCKED))`,
		table, where, len(args))
	tag, err := s.q(ctx).Exec(ctx, sql, args...)
	if err != nil {
		return 0, mapErr(op, err)
	}
	return int(tag.RowsAffected()), nil
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
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
// server answers. It does not migrate; call Migrate for that.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgconn redacts the password in its parse errors.
		return nil, fmt.Errorf("postgres: parse database url: %w", err)
	}
	// Defaults for what the URL leaves unset (pgxpool cannot tell us
	// whether a value came from the URL, hence the look at its text).
	unset := func(param string) bool { return !strings.Contains(url, param) }
	if unset("pool_max_conns") {
		// pgxpool's default (max(4, NumCPU)) queues requests behind a
		// handful of connections; an authorization server spends most of
		// a request waiting on short queries, so allow more in flight.
		cfg.MaxConns = int32(max(8, 4*runtime.NumCPU()))
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	// Dead connections (server restart, failover, idle timeouts in a proxy)
	// are found and replaced in the background rather than on a request.
	if unset("pool_health_check_period") {
		cfg.HealthCheckPeriod = 15 * time.Second
	}
	if unset("pool_max_conn_idle_time") {
		cfg.MaxConnIdleTime = 5 * time.Minute
	}
	if unset("pool_max_conn_lifetime") {
		cfg.MaxConnLifetime = time.Hour
		cfg.MaxConnLifetimeJitter = 5 * time.Minute
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "sesame"
	}

	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: create pool for %s: %w", describe(cfg), err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, openPingTimeout)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s: %w", describe(cfg), err)
	}
	return &Store{pool: pool, now: time.Now}, nil
}

// describe names the server and database of cfg for error messages,
// without the password.
func describe(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	return fmt.Sprintf("%s:%d/%s as %s", c.Host, c.Port, c.Database, c.User)
}

// Pool exposes the connection pool (LISTEN/NOTIFY, pool metrics).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Migrate applies every pending migration and returns how many it applied.
// Concurrent migrators (several instances starting at once) are serialised
// by goose's session advisory lock, so the schema is applied exactly once.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close() // closes the database/sql wrapper only, not the pool
	n, err := migrations.Up(ctx, db, migrations.Postgres)
	if err != nil {
		return n, fmt.Errorf("postgres: migrate: %w", err)
	}
	return n, nil
}

// MigrationStatus reports every known migration and whether it is applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]migrations.Status, error) {
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	st, err := migrations.List(ctx, db, migrations.Postgres)
	if err != nil {
		return nil, fmt.Errorf("postgres: migration status: %w", err)
	}
	return st, nil
}

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close waits for acquired connections to be released and closes the pool.
func (s *Store) Close() error {
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

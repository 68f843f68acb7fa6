package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sesameauth/sesame/migrations"
	"github.com/sesameauth/sesame/storage"

	// Registers the "sqlite" database/sql driver.
	_ "modernc.org/sqlite"
)

// busyTimeoutDefault is how long a statement waits for the write lock
// before it fails with "database is locked" (mapped to ErrBusy).
const busyTimeoutDefault = 5 * time.Second

// Pool bounds. One writer holds the lock at a time anyway; extra
// connections serve concurrent readers (WAL readers never block) and keep
// a caller that holds a transaction from starving everyone else. Every
// open connection may stay idle: closing one past an idle limit under load
// and opening it again a moment later re-ran the connection pragmas and
// re-prepared the cached statements on it (6% of the CPU of introspection
// at concurrency 16 in a profile, with 4 idle of 8).
const (
	maxOpenConns    = 8
	maxIdleConns    = maxOpenConns
	connMaxIdleTime = 5 * time.Minute
)

// Store is the SQLite implementation of storage.Store. It is safe for
// concurrent use.
type Store struct {
	db    *sql.DB
	stmts *stmtCache
	gate  *writeGate // writegate.go
	// revEpoch is storage.Store.RevocationEpoch (tx.go, noteRevocation).
	revEpoch atomic.Uint64
	path     string
	// busyTimeout bounds waits for the lock (busy_timeout pragma, gate,
	// checkpoints).
	busyTimeout time.Duration
	// stopCheckpoints ends the background checkpointer (checkpoint.go),
	// which closes checkpointsDone when it has.
	stopCheckpoints chan struct{}
	checkpointsDone chan struct{}
	// now is the clock used where the contract has no time argument
	// (ClaimNonce's "expired entries are replaced").
	now func() time.Time

	// mu guards txs: the transactions begun and not yet ended, which Close
	// rolls back so that a store closed under a running transaction cannot
	// commit half of it afterwards.
	// Each is mapped to the function that leaves the write gate.
	mu     sync.Mutex
	txs    map[*sql.Tx]func()
	closed bool
}

var _ storage.Store = (*Store)(nil)

// Open opens (creating if needed) the SQLite database file at path and
// checks that it is usable. It does not migrate; call Migrate.
func Open(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, busyTimeoutDefault)
}

func open(ctx context.Context, path string, busyTimeout time.Duration) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: open: empty path")
	}
	if strings.ContainsRune(path, '?') {
		// The driver would take the rest of the path for DSN parameters.
		return nil, fmt.Errorf("sqlite: open %q: path must not contain '?'", path)
	}
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", dsn(path, busyTimeout))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxIdleConns)
	db.SetConnMaxIdleTime(connMaxIdleTime)
	// The driver connects lazily; ping now so a bad path or a file that is
	// not a database fails at start-up rather than on the first request.
	//
	// Switching a fresh file to WAL takes an exclusive lock that SQLite
	// does not wait for through busy_timeout, so several processes opening
	// the same new file at once (instances starting together) can see
	// SQLITE_BUSY here: retry for up to busyTimeout before giving up.
	deadline := time.Now().Add(busyTimeout)
	for attempt := 1; ; attempt++ {
		err := db.PingContext(ctx)
		if err == nil {
			break
		}
		err = mapErr(err)
		if !errors.Is(err, ErrBusy) || time.Now().After(deadline) || ctx.Err() != nil {
			_ = db.Close()
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
		time.Sleep(time.Duration(min(attempt, 10)) * 20 * time.Millisecond)
	}
	st := &Store{db: db, stmts: newStmtCache(db), gate: newWriteGate(busyTimeout), path: path, now: time.Now,
		busyTimeout: busyTimeout, txs: map[*sql.Tx]func(){},
		stopCheckpoints: make(chan struct{}), checkpointsDone: make(chan struct{})}
	go st.checkpointer(checkpointEvery, st.stopCheckpoints, st.checkpointsDone)
	return st, nil
}

// dsn builds the driver DSN. Pragmas are applied by the driver on every new
// connection of the pool (a pragma run once on one connection would not
// reach the others). busy_timeout comes first so the journal_mode switch of
// a fresh file waits for a concurrent opener instead of failing.
func dsn(path string, busyTimeout time.Duration) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// Checkpoints run in the background (checkpoint.go), not in a commit.
	q.Add("_pragma", "wal_autocheckpoint(0)")
	// Non-read-only transactions start with BEGIN IMMEDIATE: they take the
	// write lock up front (waiting on busy_timeout) instead of failing with
	// SQLITE_BUSY when a deferred read transaction later tries to write.
	q.Set("_txlock", "immediate")
	// A plain path (no "file:" URI) is opened verbatim by SQLite; the
	// driver strips everything after '?' as its own parameters.
	return path + "?" + q.Encode()
}

// DB exposes the underlying pool, for diagnostics and tests.
func (s *Store) DB() *sql.DB { return s.db }

// Path is the database file path given to Open.
func (s *Store) Path() string { return s.path }

// Ping checks the database is reachable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", mapErr(err))
	}
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping: %w", mapErr(err))
	}
	return nil
}

// Close releases the pool. Transactions still open are rolled back (their
// later statements and Commit fail), and every later call fails with an
// error.
func (s *Store) Close() error {
	s.mu.Lock()
	if !s.closed {
		close(s.stopCheckpoints)
	}
	s.closed = true
	open := make(map[*sql.Tx]func(), len(s.txs))
	for tx, leave := range s.txs {
		open[tx] = leave
	}
	clear(s.txs)
	s.mu.Unlock()
	for tx, leave := range open {
		_ = tx.Rollback()
		leave()
	}
	<-s.checkpointsDone
	s.stmts.close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// Migrate applies every pending migration and returns how many it applied.
// Several processes may start on the same fresh file at once: an exclusive
// flock on path+".migrate.lock", held around the whole run, makes them apply
// the schema one after the other (the later ones find nothing to do).
func (s *Store) Migrate(ctx context.Context) (int, error) {
	unlock, err := lockFile(ctx, s.path+".migrate.lock")
	if err != nil {
		return 0, fmt.Errorf("sqlite: migrate: %w", err)
	}
	defer unlock()
	n, err := migrations.Up(ctx, s.db, migrations.SQLite)
	if err != nil {
		return n, fmt.Errorf("sqlite: migrate: %w", mapErr(err))
	}
	return n, nil
}

// MigrationStatus lists every known migration and whether it is applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]migrations.Status, error) {
	st, err := migrations.List(ctx, s.db, migrations.SQLite)
	if err != nil {
		return nil, fmt.Errorf("sqlite: migration status: %w", mapErr(err))
	}
	return st, nil
}

// createPrivate creates a missing database file 0600 (issue 13 item 18):
// it holds hashed secrets, sealed token sessions and the audit log, and
// SQLite would create it 0644 under the usual umask. SQLite gives the -wal
// and -shm files the mode of the database file, so they are 0600 too. An
// existing file keeps the mode its operator chose.
func createPrivate(path string) error {
	if path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// lockFile takes an exclusive flock on name, polling so that ctx can cancel
// the wait (a blocking flock cannot be interrupted).
func lockFile(ctx context.Context, name string) (unlock func(), err error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	const poll = 20 * time.Millisecond
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", name, err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", name, ctx.Err())
		case <-time.After(poll):
		}
	}
	return func() {
		// Closing the descriptor releases the lock; the file stays so
		// that every migrator locks the same inode.
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}

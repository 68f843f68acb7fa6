package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/postgres"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
)

// terminateBackends kills every server connection to s's database from a
// separate connection, as a failover or an operator would.
func terminateBackends(t *testing.T, s *postgres.Store) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), pgtest.ServerURL(t))
	if err != nil {
		t.Fatalf("admin connect: %v", err)
	}
	defer conn.Close(context.Background())
	var n int
	err = conn.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()`, s.Pool().Config().ConnConfig.Database).Scan(&n)
	if err != nil {
		t.Fatalf("terminate backends: %v", err)
	}
	return n
}

// plainFailure fails the test if err is a storage sentinel: a dead
// connection must never look like "not found" or "conflict" to a caller.
func plainFailure(t *testing.T, what string, err error) {
	t.Helper()
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrConflict) {
		t.Errorf("%s: infrastructure failure surfaced as a sentinel: %v", what, err)
	}
}

func testUser(id, name string) storage.User {
	now := time.Now()
	return storage.User{ID: id, Username: name, CreatedAt: now, UpdatedAt: now}
}

func TestTerminatedBackendsFailCleanlyAndThePoolRecovers(t *testing.T) {
	s := pgtest.Open(t)
	ctx := t.Context()
	if err := s.CreateUser(ctx, testUser("u-1", "alice")); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	// Hold several connections so the pool has more than one to lose.
	if _, _, err := s.ListUsers(ctx, storage.ListOptions{}); err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	if n := terminateBackends(t, s); n == 0 {
		t.Fatal("no backend of the store was terminated; the test proves nothing")
	}

	// The first calls may hit a dead connection: they must return (within
	// the deadline) an error that is not a sentinel, and never panic. The
	// pool must then replace the connections by itself.
	deadline := time.Now().Add(10 * time.Second)
	for attempt := 1; ; attempt++ {
		callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		u, err := s.GetUser(callCtx, "u-1")
		cancel()
		if err == nil {
			if u.Username != "alice" {
				t.Errorf("after recovery GetUser returned %+v", u)
			}
			break
		}
		plainFailure(t, "GetUser on a terminated connection", err)
		if time.Now().After(deadline) {
			t.Fatalf("pool did not recover after %d attempts: %v", attempt, err)
		}
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping after recovery: %v", err)
	}
}

func TestTransactionCutOffMidwayLeavesNothing(t *testing.T) {
	s := pgtest.Open(t)
	ctx := t.Context()

	txCtx, err := s.BeginTx(ctx)
	if err != nil {
		t.Fatalf("BeginTx: %v", err)
	}
	if err := s.CreateUser(txCtx, testUser("u-1", "alice")); err != nil {
		t.Fatalf("CreateUser in tx: %v", err)
	}
	terminateBackends(t, s)

	err = s.CreateUser(txCtx, testUser("u-2", "bob"))
	if err == nil {
		t.Fatal("CreateUser on a transaction whose connection was terminated succeeded")
	}
	plainFailure(t, "CreateUser in the dead transaction", err)
	err = s.Commit(txCtx)
	if err == nil {
		t.Fatal("Commit of a transaction whose connection was terminated succeeded")
	}
	plainFailure(t, "Commit of the dead transaction", err)
	if err := s.Rollback(txCtx); err != nil {
		t.Errorf("Rollback after the failed commit: %v", err)
	}

	// The pool recovers and nothing of the transaction was written.
	var n int
	for range 20 {
		if n, err = s.CountUsers(ctx); err == nil {
			break
		}
		plainFailure(t, "CountUsers after termination", err)
	}
	if err != nil {
		t.Fatalf("CountUsers never recovered: %v", err)
	}
	if n != 0 {
		t.Errorf("%d users exist after the transaction was cut off, want 0", n)
	}
}

func TestUnreachableDatabaseReturnsErrorsWithinTheDeadline(t *testing.T) {
	s := pgtest.Open(t)
	ctx := t.Context()
	if err := s.CreateUser(ctx, testUser("u-1", "alice")); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	pgtest.Break(t, s)

	calls := []struct {
		name string
		call func(context.Context) error
	}{
		{"Ping", s.Ping},
		{"GetUser", func(ctx context.Context) error { _, err := s.GetUser(ctx, "u-1"); return err }},
		{"CreateUser", func(ctx context.Context) error { return s.CreateUser(ctx, testUser("u-2", "bob")) }},
		{"ActivateKey", func(ctx context.Context) error {
			return s.ActivateKey(ctx, "k1", "", time.Now(), time.Now())
		}},
		{"BeginTx", func(ctx context.Context) error { _, err := s.BeginTx(ctx); return err }},
		{"DeleteExpiredTokens", func(ctx context.Context) error {
			_, err := s.DeleteExpiredTokens(ctx, time.Now(), 10)
			return err
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			start := time.Now()
			err := c.call(callCtx)
			if err == nil {
				t.Fatal("call on an unreachable database succeeded")
			}
			plainFailure(t, c.name, err)
			if d := time.Since(start); d > 6*time.Second {
				t.Errorf("call took %v, beyond its 5s deadline", d)
			}
		})
	}

	// Once the database is back, a new store sees the data intact.
	r := pgtest.Reopen(t, s)
	u, err := r.GetUser(ctx, "u-1")
	if err != nil || u.Username != "alice" {
		t.Errorf("GetUser after Reopen = %+v, %v; want alice", u, err)
	}
	if _, err := r.GetUser(ctx, "u-2"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("GetUser of the user created while broken: %v, want ErrNotFound", err)
	}
}

package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

var base = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC)

func TestTransactions(t *testing.T) {
	errBoom := errors.New("boom")
	cases := []struct {
		name     string
		fn       func(s *Store) error
		wantUser bool
	}{
		{"commit makes writes visible", func(s *Store) error {
			return storage.InTx(t.Context(), s, func(ctx context.Context) error {
				return s.CreateUser(ctx, storage.User{ID: "u1", Username: "a", CreatedAt: base, UpdatedAt: base})
			})
		}, true},
		{"error rolls back", func(s *Store) error {
			err := storage.InTx(t.Context(), s, func(ctx context.Context) error {
				if err := s.CreateUser(ctx, storage.User{ID: "u1", Username: "a", CreatedAt: base, UpdatedAt: base}); err != nil {
					return err
				}
				return errBoom
			})
			if !errors.Is(err, errBoom) {
				return err
			}
			return nil
		}, false},
		{"nested commit is left to the outer transaction", func(s *Store) error {
			err := storage.InTx(t.Context(), s, func(ctx context.Context) error {
				if err := storage.InTx(ctx, s, func(ctx context.Context) error {
					return s.CreateUser(ctx, storage.User{ID: "u1", Username: "a", CreatedAt: base, UpdatedAt: base})
				}); err != nil {
					return err
				}
				return errBoom
			})
			if !errors.Is(err, errBoom) {
				return err
			}
			return nil
		}, false},
		{"nested rollback does not end the outer transaction", func(s *Store) error {
			return storage.InTx(t.Context(), s, func(ctx context.Context) error {
				if err := s.CreateUser(ctx, storage.User{ID: "u1", Username: "a", CreatedAt: base, UpdatedAt: base}); err != nil {
					return err
				}
				inner := storage.InTx(ctx, s, func(ctx context.Context) error { return errBoom })
				if !errors.Is(inner, errBoom) {
					return inner
				}
				// Still inside a live transaction.
				_, err := s.GetUser(ctx, "u1")
				return err
			})
		}, true},
		{"panic rolls back", func(s *Store) (err error) {
			defer func() {
				if recover() == nil {
					err = errors.New("panic was swallowed")
				}
			}()
			_ = storage.InTx(t.Context(), s, func(ctx context.Context) error {
				if err := s.CreateUser(ctx, storage.User{ID: "u1", Username: "a", CreatedAt: base, UpdatedAt: base}); err != nil {
					return err
				}
				panic("boom")
			})
			return nil
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			if err := c.fn(s); err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			_, err := s.GetUser(t.Context(), "u1")
			switch {
			case c.wantUser && err != nil:
				t.Errorf("user not visible after the transaction: %v", err)
			case !c.wantUser && !errors.Is(err, storage.ErrNotFound):
				t.Errorf("GetUser after rollback = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestCommitWithoutTransaction(t *testing.T) {
	s := newStore(t)
	if err := s.Commit(t.Context()); err == nil {
		t.Error("Commit on a context without a transaction succeeded")
	}
	if err := s.Rollback(t.Context()); err == nil {
		t.Error("Rollback on a context without a transaction succeeded")
	}
}

// Read-modify-write transactions from many goroutines must serialise
// (BEGIN IMMEDIATE waits on busy_timeout) rather than fail with
// SQLITE_BUSY when a reader tries to become a writer.
func TestConcurrentWriteTransactionsQueue(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if _, err := s.RecordFailure(ctx, "k", base, base.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = storage.InTx(ctx, s, func(ctx context.Context) error {
				c, err := s.GetFailures(ctx, "k")
				if err != nil {
					return err
				}
				time.Sleep(time.Millisecond) // widen the race window
				return s.SetLock(ctx, "k", base.Add(time.Duration(c.Failures)*time.Second))
			})
			if errs[i] == nil {
				_, errs[i] = s.RecordFailure(ctx, "k", base, base.Add(-time.Hour))
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("goroutine %d: %v", i, err)
		}
	}
	c, err := s.GetFailures(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if c.Failures != n+1 {
		t.Errorf("failures = %d, want %d", c.Failures, n+1)
	}
}

// A writer that cannot get the lock within the busy timeout gets ErrBusy,
// which is not a lost race (ErrConflict).
func TestBusyIsNotConflict(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sesame.db")
	a, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	b, err := open(t.Context(), path, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	txCtx, err := a.BeginTx(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Rollback(txCtx)
	if err := a.CreateUser(txCtx, storage.User{ID: "u1", Username: "a", CreatedAt: base, UpdatedAt: base}); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	err = b.ClaimNonce(t.Context(), "ns", "v", base)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("ClaimNonce while another store holds the write lock = %v, want ErrBusy", err)
	}
	if errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) {
		t.Errorf("busy error %v matches a storage sentinel", err)
	}
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Errorf("failed after %v, before the busy timeout", d)
	}
	// WAL: readers are not blocked by the writer.
	if _, err := b.CountUsers(t.Context()); err != nil {
		t.Errorf("read during another store's write transaction: %v", err)
	}
}

// Closing a store under an open transaction rolls it back: nothing of it
// can be committed afterwards.
func TestCloseRollsBackOpenTransaction(t *testing.T) {
	s := newStore(t)
	path := s.Path()
	ctx := t.Context()
	err := storage.InTx(ctx, s, func(ctx context.Context) error {
		if err := s.CreateUser(ctx, storage.User{ID: "u1", Username: "a", CreatedAt: base, UpdatedAt: base}); err != nil {
			return err
		}
		if err := s.Close(); err != nil {
			return err
		}
		return s.CreateUser(ctx, storage.User{ID: "u2", Username: "b", CreatedAt: base, UpdatedAt: base})
	})
	if err == nil {
		t.Fatal("transaction succeeded across Close")
	}
	if errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) {
		t.Errorf("error %v matches a storage sentinel", err)
	}
	r, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if n, err := r.CountUsers(ctx); err != nil || n != 0 {
		t.Errorf("users after the cut transaction = %d, %v; want 0", n, err)
	}
}

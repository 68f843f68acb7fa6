package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesameauth/sesame/storage"
)

// txKey is the context key of the transaction started by BeginTx. It is
// keyed by the store so that a transaction of one database is never used
// by another Store sharing the context (nor mistaken for its own by
// InTransaction).
type txKey struct{ s *Store }

// txHandle is what BeginTx puts in the context. owner is false for a
// nested BeginTx, whose Commit and Rollback must leave the outer
// transaction alone.
type txHandle struct {
	tx    pgx.Tx
	owner bool
	// revoked is set by a revoking write in the transaction (shared with
	// nested handles); the owner's Commit then advances the epoch and
	// announces it.
	revoked *atomic.Bool
}

func (s *Store) txFrom(ctx context.Context) *txHandle {
	h, _ := ctx.Value(txKey{s}).(*txHandle)
	return h
}

// BeginTx starts a READ COMMITTED transaction and returns a context that
// carries it. On a context that already carries one it starts nothing and
// the returned context's Commit and Rollback are no-ops. A transaction is
// one connection: its context must not be used by several goroutines at
// once.
func (s *Store) BeginTx(ctx context.Context) (context.Context, error) {
	if h := s.txFrom(ctx); h != nil {
		return context.WithValue(ctx, txKey{s}, &txHandle{tx: h.tx, owner: false, revoked: h.revoked}), nil
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return ctx, mapErr("begin transaction", err)
	}
	return context.WithValue(ctx, txKey{s}, &txHandle{tx: tx, owner: true, revoked: new(atomic.Bool)}), nil
}

// Commit commits the transaction started by the BeginTx that returned ctx.
func (s *Store) Commit(ctx context.Context) error {
	h := s.txFrom(ctx)
	if h == nil {
		return errors.New("postgres: commit: no transaction in context")
	}
	if !h.owner {
		return nil
	}
	if err := h.tx.Commit(ctx); err != nil {
		return mapErr("commit", err)
	}
	if h.revoked.Load() {
		s.revoked(ctx)
	}
	return nil
}

// RevocationEpoch implements storage.Store.
func (s *Store) RevocationEpoch() uint64 { return s.revEpoch.Load() }

// noteRevocation records a revoking write (storage.Store.RevocationEpoch)
// made with ctx, after it was executed: at once outside a transaction, at
// the commit of the caller's transaction inside one. Noting a write that
// failed only costs cache entries.
func (s *Store) noteRevocation(ctx context.Context) {
	if h := s.txFrom(ctx); h != nil {
		h.revoked.Store(true)
		return
	}
	s.revoked(ctx)
}

// revoked advances the epoch and tells the other processes on the
// database (storage.RevocationChannel). A lost notification is not an
// error for the write that was made: their caches expire on their own.
func (s *Store) revoked(ctx context.Context) {
	s.revEpoch.Add(1)
	nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	_, _ = s.pool.Exec(nctx, "SELECT pg_notify($1, '')", storage.RevocationChannel)
}

// Rollback aborts the transaction started by the BeginTx that returned
// ctx. Rolling back a transaction that already ended is not an error, so
// a deferred Rollback after Commit is harmless.
func (s *Store) Rollback(ctx context.Context) error {
	h := s.txFrom(ctx)
	if h == nil {
		return errors.New("postgres: rollback: no transaction in context")
	}
	if !h.owner {
		return nil
	}
	// The rollback must reach the server even when ctx was cancelled (the
	// usual reason to roll back), or the connection returns to the pool
	// with the transaction still open.
	if err := h.tx.Rollback(context.WithoutCancel(ctx)); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		return fmt.Errorf("postgres: rollback: %w", err)
	}
	return nil
}

// InTransaction reports whether ctx carries a transaction of this store.
func (s *Store) InTransaction(ctx context.Context) bool { return s.txFrom(ctx) != nil }

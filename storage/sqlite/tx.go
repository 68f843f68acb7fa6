package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
)

// querier is what *sql.DB and *sql.Tx have in common; every store method
// runs its SQL through the one q(ctx) picks.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// txKey is keyed by the store so that a transaction of one database is
// never used by another Store sharing the context.
type txKey struct{ s *Store }

// txHandle is the transaction carried by a context. owner is false for a
// nested BeginTx, whose Commit/Rollback leave the decision to the outer one.
type txHandle struct {
	tx    *sql.Tx
	owner bool
	// revoked is set by a revoking write in the transaction (shared with
	// nested handles); the owner's Commit then advances the epoch.
	revoked *atomic.Bool
}

func (s *Store) txFrom(ctx context.Context) *txHandle {
	h, _ := ctx.Value(txKey{s}).(*txHandle)
	return h
}

// q returns the transaction in ctx, or the pool, behind the prepared
// statement cache.
func (s *Store) q(ctx context.Context) querier {
	if h := s.txFrom(ctx); h != nil {
		return cachedQuerier{c: s.stmts, tx: h.tx}
	}
	return cachedQuerier{c: s.stmts, gate: s.gate}
}

// BeginTx starts a write transaction (BEGIN IMMEDIATE, see dsn) and returns
// a context carrying it. On a context that already carries one it is a
// no-op: the returned context's Commit and Rollback do nothing.
func (s *Store) BeginTx(ctx context.Context) (context.Context, error) {
	if h := s.txFrom(ctx); h != nil {
		return context.WithValue(ctx, txKey{s}, &txHandle{tx: h.tx, owner: false, revoked: h.revoked}), nil
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return ctx, fmt.Errorf("sqlite: begin: %w", mapErr(err))
	}
	return context.WithValue(ctx, txKey{s}, &txHandle{tx: tx, owner: true, revoked: new(atomic.Bool)}), nil
}

// Commit commits the transaction started by the BeginTx that returned ctx.
func (s *Store) Commit(ctx context.Context) error {
	h := s.txFrom(ctx)
	if h == nil {
		return errors.New("sqlite: commit: no transaction in context")
	}
	if !h.owner {
		return nil
	}
	defer s.forget(h.tx)
	if err := h.tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", mapErr(err))
	}
	if h.revoked.Load() {
		s.revEpoch.Add(1)
	}
	return nil
}

// RevocationEpoch implements storage.Store.
func (s *Store) RevocationEpoch() uint64 { return s.revEpoch.Load() }

// noteRevocation records a revoking write (storage.Store.RevocationEpoch)
// made with ctx, after it was executed: at once outside a transaction
// (the statement committed), at the commit of the caller's transaction
// inside one. Methods that open their own transaction (inTx) call it after
// inTx returned. Noting a write that failed only costs cache entries.
func (s *Store) noteRevocation(ctx context.Context) {
	if h := s.txFrom(ctx); h != nil {
		h.revoked.Store(true)
		return
	}
	s.revEpoch.Add(1)
}

// Rollback aborts the transaction started by the BeginTx that returned ctx.
// Rolling back a transaction that already ended is not an error, so it can
// be deferred unconditionally.
func (s *Store) Rollback(ctx context.Context) error {
	h := s.txFrom(ctx)
	if h == nil {
		return errors.New("sqlite: rollback: no transaction in context")
	}
	if !h.owner {
		return nil
	}
	defer s.forget(h.tx)
	if err := h.tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("sqlite: rollback: %w", mapErr(err))
	}
	return nil
}

// inTx runs fn inside the caller's transaction if ctx carries one, or in a
// transaction of its own, for operations that need several statements to
// be atomic (compare-and-swap).
func (s *Store) inTx(ctx context.Context, fn func(q querier) error) (err error) {
	if h := s.txFrom(ctx); h != nil {
		return fn(h.tx)
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", mapErr(err))
	}
	defer func() {
		s.forget(tx)
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", mapErr(err))
	}
	return nil
}

// begin starts a transaction and registers it for Close.
// Every transaction here writes (BEGIN IMMEDIATE), so it first enters the
// write gate, which it leaves when it ends (forget).
func (s *Store) begin(ctx context.Context) (*sql.Tx, error) {
	leave := s.gate.enter(ctx)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		leave()
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		// Close ran while BEGIN was waiting for the write lock.
		_ = tx.Rollback()
		leave()
		return nil, errors.New("store is closed")
	}
	s.txs[tx] = leave
	return tx, nil
}

// forget unregisters a transaction that ended and leaves the write gate.
func (s *Store) forget(tx *sql.Tx) {
	s.mu.Lock()
	leave, ok := s.txs[tx]
	delete(s.txs, tx)
	s.mu.Unlock()
	if ok {
		leave()
	}
}

// InTransaction reports whether ctx carries a transaction of this store.
func (s *Store) InTransaction(ctx context.Context) bool { return s.txFrom(ctx) != nil }

package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds the statement cache. The store's SQL is a fixed
// set of strings (a few dozen, plus list queries whose WHERE clause varies
// with the filters), so the bound is never reached in practice; past it,
// statements simply run unprepared.
const maxCachedStmts = 512

// stmtCache keeps one prepared statement per SQL text. Without it the
// driver parses every statement on every call: a CPU profile of
// introspection under load showed 23% of the server's time in SQLite's SQL
// parser. (pgx caches prepared statements by itself; this is SQLite only.)
type stmtCache struct {
	db *sql.DB
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: make(map[string]*sql.Stmt)}
}

// get returns the prepared statement for query, preparing it on first use;
// nil when it cannot be prepared (the caller then runs the query directly,
// which reports the same error) or the cache is full.
func (c *stmtCache) get(ctx context.Context, query string) *sql.Stmt {
	c.mu.RLock()
	st, n := c.m[query], len(c.m)
	c.mu.RUnlock()
	if st != nil || n >= maxCachedStmts {
		return st
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[query]; old != nil {
		_ = st.Close()
		return old
	}
	c.m[query] = st
	return st
}

// lookup returns the cached statement for query, or nil; it never prepares.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[query]
}

// close releases every statement (before the pool is closed).
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		_ = st.Close()
		delete(c.m, q)
	}
}

// cachedQuerier runs SQL through the statement cache, on the pool or, when
// tx is set, inside that transaction (tx.StmtContext reuses the statement
// already prepared on the transaction's connection).
//
// Outside a transaction ExecContext is a write statement (reads go through
// the Query methods) and passes the write gate; the few writes that return
// rows (UPDATE … RETURNING) are left to SQLite's busy handler.
type cachedQuerier struct {
	c    *stmtCache
	tx   *sql.Tx
	gate *writeGate // nil inside a transaction (it holds the gate)
}

func (q cachedQuerier) direct() querier {
	if q.tx != nil {
		return q.tx
	}
	return q.c.db
}

func (q cachedQuerier) stmt(ctx context.Context, query string) *sql.Stmt {
	if q.tx == nil {
		return q.c.get(ctx, query)
	}
	// Inside a transaction, never prepare through the pool: that needs a
	// second connection while this one may hold SQLite's write lock, and
	// with every pooled connection waiting on that lock it would deadlock
	// until busy_timeout. Use a statement already cached (tx.StmtContext
	// prepares it on the transaction's own connection) or run directly.
	st := q.c.lookup(query)
	if st == nil {
		return nil
	}
	return q.tx.StmtContext(ctx, st)
}

func (q cachedQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if q.gate != nil {
		defer q.gate.enter(ctx)()
	}
	if st := q.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return q.direct().ExecContext(ctx, query, args...)
}

func (q cachedQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return q.direct().QueryContext(ctx, query, args...)
}

func (q cachedQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return q.direct().QueryRowContext(ctx, query, args...)
}

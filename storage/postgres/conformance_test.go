package postgres_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/postgres"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
	"github.com/sesameauth/sesame/storage/storagetest"
)

// TestConformance runs the storage conformance suite; every subtest gets an
// empty, migrated database (see pgtest for the SESAME_TEST_DATABASE_URL
// rules).
func TestConformance(t *testing.T) { conformance(t, "") }

// TestConformanceExecMode runs the suite in the query mode the store uses
// behind PgBouncer in transaction pooling mode (no prepared statements:
// every argument is encoded from its Go type alone, without the server's
// parameter types). A []byte sent to a json column, for one, is then
// bytea text and the insert fails.
func TestConformanceExecMode(t *testing.T) { conformance(t, "default_query_exec_mode=exec") }

func conformance(t *testing.T, params string) {
	pgtest.ServerURL(t) // skip or fail once here rather than in every subtest
	dbs := &databases{parent: t, params: params, broken: map[storage.Store]bool{}}
	storagetest.Run(t, storagetest.Harness{
		New: dbs.new,
		// Forbids new connections to the database and terminates the open
		// ones, including one in the middle of a transaction.
		Break: func(t *testing.T, s storage.Store) {
			dbs.markBroken(s)
			pgtest.Break(t, s.(*postgres.Store))
		},
		Reopen: func(t *testing.T, s storage.Store) storage.Store {
			return pgtest.Reopen(t, s.(*postgres.Store))
		},
	})
}

// databases recycles throwaway databases between subtests. Creating,
// migrating and dropping a database costs seconds on a loaded machine and
// the suite has about seventy subtests, so a database whose subtest ended is
// emptied (TRUNCATE of every table but goose's) and handed to the next
// subtest instead. Every database is dropped by pgtest when the top-level
// test ends; one that was broken is never reused.
type databases struct {
	parent *testing.T
	params string // added to each database's URL query when opening it
	mu     sync.Mutex
	free   []string
	broken map[storage.Store]bool
}

func (d *databases) new(t *testing.T) storage.Store {
	d.mu.Lock()
	var url string
	if n := len(d.free); n > 0 {
		url, d.free = d.free[n-1], d.free[:n-1]
	}
	d.mu.Unlock()
	if url == "" {
		// Created on the parent so it outlives this subtest.
		url = pgtest.URL(d.parent)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	open := url
	if d.params != "" {
		sep := "?"
		if strings.Contains(url, "?") {
			sep = "&"
		}
		open += sep + d.params
	}
	s, err := postgres.Open(ctx, open)
	if err != nil {
		t.Fatalf("postgres.Open: %v", err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		d.mu.Lock()
		broken := d.broken[s]
		delete(d.broken, s)
		d.mu.Unlock()
		if broken || t.Failed() {
			return // left for pgtest to drop, with whatever it holds
		}
		if err := empty(url); err != nil {
			t.Errorf("emptying the database for reuse: %v", err)
			return
		}
		d.mu.Lock()
		d.free = append(d.free, url)
		d.mu.Unlock()
	})
	// A no-op on a recycled database; applies the schema on a new one.
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func (d *databases) markBroken(s storage.Store) {
	d.mu.Lock()
	d.broken[s] = true
	d.mu.Unlock()
}

// empty truncates every table of the database at url except goose's
// version table, restarting identities so it is as good as new.
func empty(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
		WHERE schemaname = current_schema() AND tablename <> 'goose_db_version'`)
	if err != nil {
		return err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) == 0 {
		return err
	}
	_, err = conn.Exec(ctx, "TRUNCATE "+strings.Join(tables, ", ")+" RESTART IDENTITY CASCADE")
	return err
}

package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/postgres"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
)

// TestPgBouncerTransactionPooling runs the store through PgBouncer in
// transaction mode: the pooled URL alone is refused at open (LISTEN and
// advisory locks would not hold), and with a direct session URL the store
// works under concurrency without prepared statements.
func TestPgBouncerTransactionPooling(t *testing.T) {
	direct := pgtest.URL(t)
	pooled := pgtest.PgBouncer(t, direct)
	ctx, cancel := context.WithTimeout(t.Context(), 40*time.Second)
	defer cancel()

	if s, err := postgres.Open(ctx, pooled); !errors.Is(err, postgres.ErrPooledSession) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open through PgBouncer alone: %v, want ErrPooledSession", err)
	}
	// A direct URL given as the session URL is accepted; a pooled one is not.
	if _, err := postgres.OpenWith(ctx, direct, postgres.Options{SessionURL: pooled}); !errors.Is(err, postgres.ErrPooledSession) {
		t.Fatalf("OpenWith a pooled session URL: %v, want ErrPooledSession", err)
	}

	s, err := postgres.OpenWith(ctx, pooled, postgres.Options{SessionURL: direct})
	if err != nil {
		t.Fatalf("OpenWith(pooled, direct session): %v", err)
	}
	defer s.Close()
	if m := s.Pool().Config().ConnConfig.DefaultQueryExecMode; m != pgx.QueryExecModeExec {
		t.Errorf("pooled URL query mode %v, want exec (no prepared statements across transactions)", m)
	}
	if s.SessionPool() == s.Pool() {
		t.Error("the session pool is the pooled one")
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}

	// Many clients over few server connections: every statement and
	// transaction must land whole on whatever backend PgBouncer picks.
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 8 {
		wg.Go(func() {
			for i := range 15 {
				id := fmt.Sprintf("u-%d-%d", w, i)
				tctx, err := s.BeginTx(ctx)
				if err != nil {
					errs <- err
					return
				}
				if err := s.CreateUser(tctx, testUser(id, id)); err != nil {
					_ = s.Rollback(tctx)
					errs <- err
					return
				}
				if err := s.Commit(tctx); err != nil {
					errs <- err
					return
				}
				if u, err := s.GetUser(ctx, id); err != nil || u.Username != id {
					errs <- fmt.Errorf("GetUser %s: %+v %v", id, u, err)
					return
				}
				if _, _, err := s.ListUsers(ctx, storage.ListOptions{Limit: 5}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 8*15 {
		t.Errorf("CountUsers = %d, %v; want %d", n, err, 8*15)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping through PgBouncer: %v", err)
	}
}

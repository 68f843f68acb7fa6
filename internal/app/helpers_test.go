package app

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/password"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
	"github.com/sesameauth/sesame/storage/sqlite"
)

// fastParams keep tests quick; the cost floor is enforced by config.
var fastParams = password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// forEachStore runs fn against a fresh, migrated SQLite store and, when
// SESAME_TEST_DATABASE_URL is set, a fresh Postgres database.
func forEachStore(t *testing.T, fn func(t *testing.T, st storage.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		ctx := context.Background()
		st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "sesame.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		if _, err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		fn(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, pgtest.Open(t))
	})
}

func newService(t *testing.T, st storage.Store) *Service {
	t.Helper()
	ring, err := secret.New([]byte("0123456789abcdef0123456789abcdef-test"))
	if err != nil {
		t.Fatal(err)
	}
	return New(st, ring, fastParams, func() time.Time { return testNow })
}

func countClients(t *testing.T, st storage.Store) int {
	t.Helper()
	cs, _, err := st.ListClients(context.Background(), storage.ListOptions{Limit: storage.MaxListLimit})
	if err != nil {
		t.Fatal(err)
	}
	return len(cs)
}

func countUsers(t *testing.T, st storage.Store) int {
	t.Helper()
	n, err := st.CountUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func countAudit(t *testing.T, st storage.Store) int {
	t.Helper()
	ev, _, err := st.ListAudit(context.Background(), storage.AuditFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return len(ev)
}

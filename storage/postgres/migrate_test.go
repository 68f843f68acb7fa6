package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage/postgres"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
)

// wantTables is the schema every migrated database must have.
var wantTables = []string{
	"audit_events", "auth_flows", "client_revocations", "clients", "consents", "device_grants", "failure_counters",
	"grants", "group_members", "groups", "identities", "login_sessions", "nonces", "recovery_codes", "registration_tokens", "resources", "signing_keys", "tokens", "user_factors", "users",
}

func openFresh(t *testing.T, u string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), u)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// checkSchema fails unless every table exists and goose recorded each
// migration exactly once.
func checkSchema(t *testing.T, s *postgres.Store, migrations int) {
	t.Helper()
	ctx := t.Context()
	for _, table := range wantTables {
		var ok bool
		if err := s.Pool().QueryRow(ctx, `SELECT to_regclass('public.' || $1) IS NOT NULL`, table).Scan(&ok); err != nil {
			t.Fatalf("look up table %s: %v", table, err)
		}
		if !ok {
			t.Errorf("table %s missing after Migrate", table)
		}
	}
	var rows, versions int
	err := s.Pool().QueryRow(ctx, `SELECT count(*), count(DISTINCT version_id) FROM goose_db_version
		WHERE version_id > 0 AND is_applied`).Scan(&rows, &versions)
	if err != nil {
		t.Fatalf("read goose_db_version: %v", err)
	}
	if rows != migrations || versions != migrations {
		t.Errorf("goose_db_version has %d rows for %d versions, want each of the %d migrations once", rows, versions, migrations)
	}
}

func TestOpenDoesNotMigrate(t *testing.T) {
	s := openFresh(t, pgtest.URL(t))
	st, err := s.MigrationStatus(t.Context())
	if err != nil {
		t.Fatalf("MigrationStatus: %v", err)
	}
	if len(st) == 0 {
		t.Fatal("MigrationStatus lists no migrations")
	}
	for _, m := range st {
		if m.Applied {
			t.Errorf("migration %d %s applied by Open alone", m.Version, m.Name)
		}
	}
	if _, err := s.CountUsers(t.Context()); err == nil {
		t.Error("CountUsers on an unmigrated database succeeded")
	}
}

func TestMigrateTwiceIsANoOp(t *testing.T) {
	s := openFresh(t, pgtest.URL(t))
	ctx := t.Context()
	n, err := s.Migrate(ctx)
	if err != nil {
		t.Fatalf("first Migrate: %v", err)
	}
	st, err := s.MigrationStatus(ctx)
	if err != nil {
		t.Fatalf("MigrationStatus: %v", err)
	}
	if n != len(st) || n == 0 {
		t.Errorf("first Migrate applied %d migrations, want all %d", n, len(st))
	}
	for _, m := range st {
		if !m.Applied {
			t.Errorf("migration %d %s not applied", m.Version, m.Name)
		}
		if m.Version <= 0 || m.Name == "" {
			t.Errorf("migration status %+v lacks a version or name", m)
		}
	}

	n, err = s.Migrate(ctx)
	if err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if n != 0 {
		t.Errorf("second Migrate applied %d migrations, want 0", n)
	}
	checkSchema(t, s, len(st))
	if _, err := s.CountUsers(ctx); err != nil {
		t.Errorf("CountUsers after Migrate: %v", err)
	}
}

func TestConcurrentMigratorsApplyTheSchemaOnce(t *testing.T) {
	u := pgtest.URL(t)
	const migrators = 4
	stores := make([]*postgres.Store, migrators)
	for i := range stores {
		stores[i] = openFresh(t, u) // separate pools, as separate instances would have
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	applied := make([]int, migrators)
	errs := make([]error, migrators)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			<-start
			applied[i], errs[i] = s.Migrate(ctx)
		})
	}
	close(start)
	wg.Wait()

	total := 0
	for i, err := range errs {
		if err != nil {
			t.Errorf("migrator %d: %v", i, err)
		}
		total += applied[i]
	}
	st, err := stores[0].MigrationStatus(ctx)
	if err != nil {
		t.Fatalf("MigrationStatus: %v", err)
	}
	if total != len(st) {
		t.Errorf("migrators applied %v = %d migrations in total, want each of the %d exactly once", applied, total, len(st))
	}
	for _, m := range st {
		if !m.Applied {
			t.Errorf("migration %d not applied", m.Version)
		}
	}
	checkSchema(t, stores[0], len(st))
}

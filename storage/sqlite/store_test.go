package sqlite

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sesameauth/sesame/storage"
)

// newStore opens a migrated store on a fresh file, closed at cleanup.
func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "sesame.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// wantTables are the tables the schema must create.
var wantTables = []string{"audit_events", "auth_flows", "client_revocations", "clients", "consents", "device_grants",
	"failure_counters", "grants", "group_members", "groups", "identities", "link_tokens", "login_sessions", "mail_queue", "nonces", "recovery_codes", "registration_tokens", "resources", "signing_keys", "tokens", "user_factors", "users"}

func tables(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.DB().QueryContext(t.Context(), `SELECT name FROM sqlite_master
		WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'goose_%' ORDER BY name`)
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatalf("scan: %v", err)
		}
		out = append(out, n)
	}
	return out
}

func checkFullyMigrated(t *testing.T, s *Store) {
	t.Helper()
	if got := tables(t, s); !slices.Equal(got, wantTables) {
		t.Errorf("tables = %v, want %v", got, wantTables)
	}
	st, err := s.MigrationStatus(t.Context())
	if err != nil {
		t.Fatalf("MigrationStatus: %v", err)
	}
	if len(st) == 0 {
		t.Fatal("MigrationStatus lists no migration")
	}
	for _, m := range st {
		if !m.Applied {
			t.Errorf("migration %d (%s) not applied", m.Version, m.Name)
		}
	}
}

func TestMigrateTwiceIsNoop(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "sesame.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()

	st, err := s.MigrationStatus(t.Context())
	if err != nil {
		t.Fatalf("MigrationStatus before Migrate: %v", err)
	}
	for _, m := range st {
		if m.Applied {
			t.Errorf("migration %d applied on a fresh file", m.Version)
		}
	}

	n, err := s.Migrate(t.Context())
	if err != nil {
		t.Fatalf("first Migrate: %v", err)
	}
	if n != len(st) || n == 0 {
		t.Errorf("first Migrate applied %d, want every one of the %d migrations", n, len(st))
	}
	n, err = s.Migrate(t.Context())
	if err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if n != 0 {
		t.Errorf("second Migrate applied %d, want 0", n)
	}
	checkFullyMigrated(t, s)
	if _, err := os.Stat(s.Path() + ".migrate.lock"); err != nil {
		t.Errorf("migrate lock file: %v", err)
	}
}

func TestMigrateConcurrentOpeners(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sesame.db")
	const n = 4
	applied := make([]int, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			s, err := Open(context.Background(), path)
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close()
			applied[i], errs[i] = s.Migrate(context.Background())
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
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	st, err := s.MigrationStatus(t.Context())
	if err != nil {
		t.Fatalf("MigrationStatus: %v", err)
	}
	// Each migration ran exactly once across all migrators.
	if total != len(st) {
		t.Errorf("migrators applied %d migrations in total, want %d (each exactly once)", total, len(st))
	}
	checkFullyMigrated(t, s)
}

// migrateHelperEnv makes the test binary act as a separate migrating
// process (see TestMigrateConcurrentProcesses).
const migrateHelperEnv = "SESAME_SQLITE_MIGRATE_HELPER_DB"

func TestMain(m *testing.M) {
	if path := os.Getenv(migrateHelperEnv); path != "" {
		s, err := Open(context.Background(), path)
		if err == nil {
			_, err = s.Migrate(context.Background())
			_ = s.Close()
		}
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestMigrateConcurrentProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sesame.db")
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("executable: %v", err)
	}
	const n = 3
	cmds := make([]*exec.Cmd, n)
	outs := make([]*lockedBuffer, n)
	for i := range n {
		outs[i] = &lockedBuffer{}
		cmds[i] = exec.CommandContext(t.Context(), exe)
		cmds[i].Env = append(os.Environ(), migrateHelperEnv+"="+path)
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
	}
	for i, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatalf("start migrator %d: %v", i, err)
		}
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("migrator process %d: %v\n%s", i, err, outs[i].String())
		}
	}
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	checkFullyMigrated(t, s)
	if n, err := s.Migrate(t.Context()); err != nil || n != 0 {
		t.Errorf("Migrate after the processes = %d, %v; want 0, nil", n, err)
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

func TestOpenRejects(t *testing.T) {
	dir := t.TempDir()
	notADB := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(notADB, []byte("this is certainly not an sqlite database file, just text"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path string
	}{
		{"empty path", ""},
		{"question mark in path", filepath.Join(dir, "a?b.db")},
		{"missing directory", filepath.Join(dir, "nope", "x.db")},
		{"file that is not a database", notADB},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Open(t.Context(), c.path)
			if err == nil {
				_ = s.Close()
				t.Fatalf("Open(%q) succeeded", c.path)
			}
		})
	}
}

func TestPragmasOnEveryConnection(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	// Hold several connections at once so the pool has to open more than
	// one; each must carry the pragmas.
	conns := make([]interface{ Close() error }, 0, 3)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for i := range 3 {
		c, err := s.DB().Conn(ctx)
		if err != nil {
			t.Fatalf("conn %d: %v", i, err)
		}
		conns = append(conns, c)
		var (
			mode        string
			fk, sync    int
			busyTimeout int
		)
		if err := c.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busyTimeout); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || fk != 1 || sync != 1 || busyTimeout != int(busyTimeoutDefault.Milliseconds()) {
			t.Errorf("conn %d: journal_mode=%s foreign_keys=%d synchronous=%d busy_timeout=%d; want wal 1 1(NORMAL) %d",
				i, mode, fk, sync, busyTimeout, busyTimeoutDefault.Milliseconds())
		}
	}
}

func TestClosedStoreReturnsErrors(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if err := s.CreateUser(ctx, storage.User{ID: "u1", Username: "a"}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	calls := []struct {
		name string
		call func() error
	}{
		{"Ping", func() error { return s.Ping(ctx) }},
		{"GetUser", func() error { _, err := s.GetUser(ctx, "u1"); return err }},
		{"CreateUser", func() error { return s.CreateUser(ctx, storage.User{ID: "u2", Username: "b"}) }},
		{"ListUsers", func() error { _, _, err := s.ListUsers(ctx, storage.ListOptions{}); return err }},
		{"DeactivateToken", func() error { return s.DeactivateToken(ctx, storage.KindRefreshToken, "x", base, nil) }},
		{"ClaimNonce", func() error { return s.ClaimNonce(ctx, "ns", "v", base) }},
		{"ActivateKey", func() error { return s.ActivateKey(ctx, "k", "", base, base) }},
		{"RotateClientSecret", func() error { return s.RotateClientSecret(ctx, "c", "", "n", false, base) }},
		{"BeginTx", func() error { _, err := s.BeginTx(ctx); return err }},
		{"Migrate", func() error { _, err := s.Migrate(ctx); return err }},
		{"MigrationStatus", func() error { _, err := s.MigrationStatus(ctx); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			if err == nil {
				t.Fatal("succeeded on a closed store")
			}
			// An infrastructure failure must not look like a protocol
			// outcome.
			if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrConflict) {
				t.Errorf("error %v matches a storage sentinel", err)
			}
		})
	}
}

func TestMigrationStatusListsEmbeddedFiles(t *testing.T) {
	s := newStore(t)
	st, err := s.MigrationStatus(t.Context())
	if err != nil {
		t.Fatalf("MigrationStatus: %v", err)
	}
	if len(st) == 0 || st[0].Version != 1 || !strings.Contains(st[0].Name, "init") || !st[0].Applied {
		t.Errorf("migrations = %+v, want the applied 00001_init first", st)
	}
}

// TestMigrateAppliesALateLowerNumber: a database migrated before a lower
// migration number landed (00012 after 00014) gets it on the next Migrate.
func TestMigrateAppliesALateLowerNumber(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	// Undo 00012 by hand, as if the database was migrated before it existed.
	if _, err := s.DB().ExecContext(ctx, `ALTER TABLE clients DROP COLUMN token_exchange_audiences`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, `DELETE FROM goose_db_version WHERE version_id = 12`); err != nil {
		t.Fatal(err)
	}
	n, err := s.Migrate(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Migrate = %d, %v; want 1 migration applied", n, err)
	}
	if _, err := s.DB().ExecContext(ctx, `SELECT token_exchange_audiences FROM clients`); err != nil {
		t.Errorf("column of 00012 after the late migration: %v", err)
	}
	checkFullyMigrated(t, s)
}

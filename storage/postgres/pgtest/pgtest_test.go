package pgtest

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestWithDatabase(t *testing.T) {
	cases := []struct {
		name, server, want string
	}{
		{"url keeps credentials and options", "postgres://postgres:pw@127.0.0.1:5432/postgres?sslmode=disable",
			"postgres://postgres:pw@127.0.0.1:5432/sesame_t_x?sslmode=disable"},
		{"url without a database", "postgresql://127.0.0.1", "postgresql://127.0.0.1/sesame_t_x"},
		{"dbname query parameter is dropped", "postgres://127.0.0.1/?dbname=postgres&sslmode=disable",
			"postgres://127.0.0.1/sesame_t_x?sslmode=disable"},
		{"key=value string gets a later dbname", "host=127.0.0.1 dbname=postgres",
			"host=127.0.0.1 dbname=postgres dbname=sesame_t_x"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := withDatabase(c.server, "sesame_t_x")
			if err != nil || got != c.want {
				t.Errorf("withDatabase = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

// databaseExists asks the server whether a database is there.
func databaseExists(t *testing.T, name string) bool {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), ServerURL(t))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	var ok bool
	if err := conn.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&ok); err != nil {
		t.Fatalf("query pg_database: %v", err)
	}
	return ok
}

func TestURLIsFreshEmptyAndDroppedAfterTheTest(t *testing.T) {
	ServerURL(t) // skip here, not only in the subtest
	var first, second string
	t.Run("inner", func(t *testing.T) {
		// Closed only after URL's cleanup dropped the database: a
		// connection still open must not stop the drop.
		var conn *pgx.Conn
		t.Cleanup(func() {
			if conn != nil {
				conn.Close(context.Background())
			}
		})
		first, second = URL(t), URL(t)
		if first == second {
			t.Fatalf("two calls returned the same database %s", first)
		}
		var err error
		if conn, err = pgx.Connect(t.Context(), first); err != nil {
			t.Fatalf("connect to the new database: %v", err)
		}
		var tables int
		if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil {
			t.Fatalf("count tables: %v", err)
		}
		if tables != 0 {
			t.Errorf("fresh database has %d tables, want 0", tables)
		}
	})
	for _, u := range []string{first, second} {
		parsed, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(parsed.Path, "/")
		if !strings.HasPrefix(name, "sesame_t_") {
			t.Errorf("database %q is not named sesame_t_*", name)
		}
		if databaseExists(t, name) {
			t.Errorf("database %s still exists after its test ended", name)
		}
	}
}

func TestOpenReturnsAMigratedStore(t *testing.T) {
	s := Open(t)
	if _, err := s.CountUsers(t.Context()); err != nil {
		t.Fatalf("CountUsers on pgtest.Open's store: %v", err)
	}
	st, err := s.MigrationStatus(t.Context())
	if err != nil {
		t.Fatalf("MigrationStatus: %v", err)
	}
	for _, m := range st {
		if !m.Applied {
			t.Errorf("migration %d not applied", m.Version)
		}
	}
}

func TestBreakThenReopen(t *testing.T) {
	s := Open(t)
	Break(t, s)
	if err := s.Ping(t.Context()); err == nil {
		t.Fatal("Ping succeeded on a broken store")
	}
	r := Reopen(t, s)
	if err := r.Ping(t.Context()); err != nil {
		t.Fatalf("Ping on the reopened store: %v", err)
	}
}

// recordingTB stands in for a test so that ServerURL's skip or failure can
// be observed; like the real ones, Skipf and Fatalf stop the caller.
type recordingTB struct {
	testing.TB
	outcome string
}

type stopped struct{}

func (r *recordingTB) Helper()               {}
func (r *recordingTB) Skipf(string, ...any)  { r.outcome = "skip"; panic(stopped{}) }
func (r *recordingTB) Fatalf(string, ...any) { r.outcome = "fatal"; panic(stopped{}) }

// run calls f and returns "ran", or "skip"/"fatal" if f was stopped.
func (r *recordingTB) run(f func(testing.TB)) (outcome string) {
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(stopped); !ok {
				panic(p)
			}
			outcome = r.outcome
		}
	}()
	f(r)
	return "ran"
}

func TestServerURLSkipsOutsideCIAndFailsInCI(t *testing.T) {
	cases := []struct {
		name, url, ci, want string
	}{
		{"unset outside CI skips", "", "", "skip"},
		{"unset in CI fails", "", "true", "fatal"},
		{"set runs", "postgres://127.0.0.1/postgres", "", "ran"},
		{"set in CI runs", "postgres://127.0.0.1/postgres", "true", "ran"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(EnvURL, c.url)
			t.Setenv("CI", c.ci)
			r := &recordingTB{TB: t}
			got := r.run(func(tb testing.TB) { ServerURL(tb) })
			if got != c.want {
				t.Errorf("ServerURL with %s=%q CI=%q: %s, want %s", EnvURL, c.url, c.ci, got, c.want)
			}
		})
	}
}

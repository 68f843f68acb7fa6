package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesameauth/sesame/storage/postgres"
)

// EnvURL names the environment variable holding the URL of the server the
// test databases are created on (any existing database, e.g.
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable).
const EnvURL = "SESAME_TEST_DATABASE_URL"

// ServerURL returns SESAME_TEST_DATABASE_URL, skipping the test when it is
// unset outside CI and failing it when it is unset in CI.
func ServerURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u != "" {
		return u
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not set but CI is: the Postgres tests must run in CI", EnvURL)
	}
	t.Skipf("%s not set; skipping Postgres test", EnvURL)
	return ""
}

// URL creates a fresh, empty database for this test and returns its URL.
// The database is dropped (terminating any connection still open to it)
// when the test and its subtests end.
func URL(t testing.TB) string {
	t.Helper()
	server := ServerURL(t)

	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("pgtest: random database name: %v", err)
	}
	name := "sesame_t_" + hex.EncodeToString(b[:])
	dbURL, err := withDatabase(server, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}

	adminExec(t, server, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	t.Cleanup(func() {
		adminExec(t, server, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	})
	return dbURL
}

// Open returns a migrated Store on a fresh database; the Store is closed
// and the database dropped when the test ends.
func Open(t testing.TB) *postgres.Store {
	t.Helper()
	u := URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatalf("pgtest: open: %v", err)
	}
	// Registered after URL's cleanup, so it runs first: close, then drop.
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("pgtest: migrate: %v", err)
	}
	return s
}

// adminExec runs one statement on the server database on its own
// connection (CREATE/DROP DATABASE cannot run in a transaction or pool).
func adminExec(t testing.TB, server, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", EnvURL, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
}

// withDatabase returns server with its database replaced by name. It
// accepts both URL and key=value connection strings.
func withDatabase(server, name string) (string, error) {
	if strings.HasPrefix(server, "postgres://") || strings.HasPrefix(server, "postgresql://") {
		u, err := url.Parse(server)
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", EnvURL, err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		q := u.Query()
		if q.Has("dbname") {
			q.Del("dbname")
			u.RawQuery = q.Encode()
		}
		return u.String(), nil
	}
	// In a key=value string a later key overrides an earlier one.
	return server + " dbname=" + name, nil
}

// Break makes s's database unreachable: it forbids new connections to it
// and terminates every open one (including one in the middle of a
// transaction), so that every later call on s fails as it would if the
// server went away. It is safe to call while s has a transaction open.
// Reopen (or the end of the test) undoes it.
func Break(t testing.TB, s *postgres.Store) {
	t.Helper()
	name := pgx.Identifier{s.Pool().Config().ConnConfig.Database}.Sanitize()
	server := ServerURL(t)
	adminExec(t, server, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS false")
	adminExec(t, server, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
		s.Pool().Config().ConnConfig.Database)
}

// Reopen allows connections to s's database again and returns a new,
// working Store over it (s itself may stay broken: its connections are
// gone), closed when the test ends.
func Reopen(t testing.TB, s *postgres.Store) *postgres.Store {
	t.Helper()
	cfg := s.Pool().Config()
	adminExec(t, ServerURL(t), "ALTER DATABASE "+pgx.Identifier{cfg.ConnConfig.Database}.Sanitize()+" ALLOW_CONNECTIONS true")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := postgres.Open(ctx, cfg.ConnString())
	if err != nil {
		t.Fatalf("pgtest: reopen: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

package postgres_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage/postgres"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
)

// openBudget is how long Open may take to give up on a bad target: start-up
// with a wrong SESAME_DATABASE_URL must fail fast with a clear message.
const openBudget = 5 * time.Second

func TestOpenFailsQuicklyAndClearly(t *testing.T) {
	cases := []struct {
		name string
		url  string
		want string // substring of the error
	}{
		{"malformed url", "postgres://user:s3cret-pw@127.0.0.1:notaport/db", "parse database url"},
		{"unknown parameter value", "postgres://127.0.0.1/db?sslmode=bogus", "parse database url"},
		{"nothing listening on the port", "postgres://postgres:s3cret-pw@127.0.0.1:1/sesame?sslmode=disable", "connect to 127.0.0.1:1/sesame"},
		// A non-routable address: no answer at all, so only the connect
		// timeout ends the attempt.
		{"unroutable host", "postgres://postgres:s3cret-pw@10.255.255.1:5432/sesame?sslmode=disable", "connect to 10.255.255.1:5432/sesame"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			s, err := postgres.Open(context.Background(), c.url)
			elapsed := time.Since(start)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if elapsed > openBudget {
				t.Errorf("Open took %v to fail, want < %v", elapsed, openBudget)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), "s3cret-pw") {
				t.Errorf("error leaks the password: %q", err)
			}
		})
	}
}

func TestOpenUnknownDatabase(t *testing.T) {
	u, err := url.Parse(pgtest.ServerURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/sesame_no_such_database"
	start := time.Now()
	s, err := postgres.Open(context.Background(), u.String())
	if err == nil {
		s.Close()
		t.Fatal("Open of a missing database succeeded")
	}
	if time.Since(start) > openBudget {
		t.Errorf("Open took %v to fail", time.Since(start))
	}
	if !strings.Contains(err.Error(), "sesame_no_such_database") {
		t.Errorf("error %q does not name the database", err)
	}
}

func TestOpenHonoursCallerContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, err := postgres.Open(ctx, pgtest.URL(t))
	if err == nil {
		s.Close()
		t.Fatal("Open with a cancelled context succeeded")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want it to wrap context.Canceled", err)
	}
}

func TestPingAndClose(t *testing.T) {
	s := pgtest.Open(t)
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Error("Ping after Close succeeded, want an error")
	}
	if _, err := s.GetUser(t.Context(), "u-1"); err == nil {
		t.Error("GetUser after Close succeeded, want an error")
	}
}

func TestOpenPoolSettings(t *testing.T) {
	u := pgtest.URL(t)
	cases := []struct {
		name         string
		query        string
		wantMaxConns func(int32) bool
		wantHealth   time.Duration
	}{
		{"defaults allow more than pgxpool's four connections", "", func(n int32) bool { return n >= 8 }, 15 * time.Second},
		{"settings in the url win", "pool_max_conns=3&pool_health_check_period=7s", func(n int32) bool { return n == 3 }, 7 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			full := u
			if c.query != "" {
				sep := "?"
				if strings.Contains(full, "?") {
					sep = "&"
				}
				full += sep + c.query
			}
			s, err := postgres.Open(t.Context(), full)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer s.Close()
			cfg := s.Pool().Config()
			if !c.wantMaxConns(cfg.MaxConns) {
				t.Errorf("MaxConns = %d", cfg.MaxConns)
			}
			if cfg.HealthCheckPeriod != c.wantHealth {
				t.Errorf("HealthCheckPeriod = %v, want %v", cfg.HealthCheckPeriod, c.wantHealth)
			}
			if cfg.ConnConfig.ConnectTimeout <= 0 || cfg.ConnConfig.ConnectTimeout > 5*time.Second {
				t.Errorf("ConnectTimeout = %v, want a bound under 5s", cfg.ConnConfig.ConnectTimeout)
			}
		})
	}
}

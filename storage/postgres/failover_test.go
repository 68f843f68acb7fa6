package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage/postgres"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
)

// deadAddr is a loopback address nobody listens on: a lost machine.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestMultiHostURLSkipsADeadHost opens a store with a dead host listed
// first, in URL and in key=value form: the pool connects to the live one.
func TestMultiHostURLSkipsADeadHost(t *testing.T) {
	live, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	dead := deadAddr(t)
	deadHost, deadPort, _ := net.SplitHostPort(dead)
	liveHost, livePort, _ := net.SplitHostPort(live.Host)
	db := strings.TrimPrefix(live.Path, "/")
	forms := map[string]string{
		"url":     fmt.Sprintf("postgres://%s@%s,%s/%s?sslmode=disable&connect_timeout=2", live.User.Username(), dead, live.Host, db),
		"keyword": fmt.Sprintf("host=%s,%s port=%s,%s user=%s dbname=%s sslmode=disable connect_timeout=2", deadHost, liveHost, deadPort, livePort, live.User.Username(), db),
	}
	for name, dsn := range forms {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			s, err := postgres.Open(ctx, dsn)
			if err != nil {
				t.Fatalf("Open(%s): %v", dsn, err)
			}
			defer s.Close()
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			if err := s.CreateUser(ctx, testUser("u-"+name, name)); err != nil {
				t.Fatalf("CreateUser: %v", err)
			}
			if err := s.Ping(ctx); err != nil {
				t.Errorf("Ping: %v", err)
			}
		})
	}
}

// TestReadOnlyConnectionIsEvicted puts one pooled connection in the state
// of a connection to a demoted primary (every transaction read-only): a
// write on it fails with a plain error, Ping says read-only, and the pool
// drops that connection, so the next calls get a writable one.
func TestReadOnlyConnectionIsEvicted(t *testing.T) {
	u := pgtest.URL(t) + "&pool_max_conns=1"
	ctx := t.Context()
	s, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	readOnly := func() {
		t.Helper()
		if _, err := s.Pool().Exec(ctx, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"); err != nil {
			t.Fatal(err)
		}
	}

	readOnly()
	err = s.CreateUser(ctx, testUser("u-1", "alice"))
	if err == nil {
		t.Fatal("CreateUser on a read-only connection succeeded")
	}
	plainFailure(t, "CreateUser on a read-only connection", err)
	if err := s.CreateUser(ctx, testUser("u-1", "alice")); err != nil {
		t.Fatalf("CreateUser after the read-only connection should have been dropped: %v", err)
	}

	readOnly()
	if err := s.Ping(ctx); !errors.Is(err, postgres.ErrReadOnly) {
		t.Fatalf("Ping on a read-only connection: %v, want ErrReadOnly", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after the read-only connection was dropped: %v", err)
	}
}

package dial

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage/postgres/pgtest"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		backend Backend
		addr    string
		err     bool
	}{
		{"sqlite:sesame.db", SQLite, "sesame.db", false},
		{"sqlite:/var/lib/sesame/db.sqlite", SQLite, "/var/lib/sesame/db.sqlite", false},
		{"postgres://u@h/db", Postgres, "postgres://u@h/db", false},
		{"postgresql://u@h/db?sslmode=disable", Postgres, "postgresql://u@h/db?sslmode=disable", false},
		{"sqlite:", "", "", true},
		{"mysql://u@h/db", "", "", true},
		{"sesame.db", "", "", true},
	}
	for _, tt := range tests {
		b, addr, err := Parse(tt.in)
		if tt.err {
			if !errors.Is(err, ErrUnknownScheme) {
				t.Errorf("%s: want ErrUnknownScheme, got %v", tt.in, err)
			}
			continue
		}
		if err != nil || b != tt.backend || addr != tt.addr {
			t.Errorf("%s: got %s %s %v", tt.in, b, addr, err)
		}
	}
	if _, _, err := Parse("mysql://u:hunter2@h/db"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("password leaked or no error: %v", err)
	}
}

func TestOpenSQLite(t *testing.T) {
	ctx := context.Background()
	st, mig, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, err := mig.Migrate(ctx)
	if err != nil || n == 0 {
		t.Fatalf("migrate: %d %v", n, err)
	}
	status, err := mig.MigrationStatus(ctx)
	if err != nil || len(status) == 0 {
		t.Fatalf("status: %v %v", status, err)
	}
	for _, s := range status {
		if !s.Applied {
			t.Errorf("%+v pending after Migrate", s)
		}
	}
	if err := st.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestOpenSQLiteBadPath(t *testing.T) {
	_, _, err := Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "missing-dir", "s.db"))
	if err == nil || !strings.Contains(err.Error(), "SQLite") {
		t.Fatalf("want a clear error, got %v", err)
	}
}

func TestOpenPostgres(t *testing.T) {
	ctx := context.Background()
	st, mig, err := Open(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := mig.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestOpenPostgresUnreachable(t *testing.T) {
	start := time.Now()
	_, _, err := Open(context.Background(), "postgres://postgres:pw@127.0.0.1:1/x?sslmode=disable&connect_timeout=2")
	if err == nil || !strings.Contains(err.Error(), "cannot reach Postgres") {
		t.Fatalf("want unreachable error, got %v", err)
	}
	if strings.Contains(err.Error(), ":pw@") {
		t.Fatalf("password leaked: %v", err)
	}
	if time.Since(start) > connectTimeout+2*time.Second {
		t.Fatalf("took %v", time.Since(start))
	}
}

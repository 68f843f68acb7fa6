// Package migrations holds Sesame's versioned SQL schema, one directory per
// dialect, embedded in the binary and applied with goose
// (github.com/pressly/goose/v3). It imports nothing of Sesame.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Dialect selects a migration directory.
type Dialect string

const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Status of one migration.
type Status struct {
	Version int64  `json:"version"`
	Name    string `json:"name"`
	Applied bool   `json:"applied"`
}

func provider(db *sql.DB, d Dialect) (*goose.Provider, error) {
	sub, err := fs.Sub(files, string(d))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var (
		gd   goose.Dialect
		opts []goose.ProviderOption
	)
	switch d {
	case Postgres:
		gd = goose.DialectPostgres
		// A session-level advisory lock serialises concurrent migrators
		// (several instances starting at once) so the schema is applied once.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, fmt.Errorf("migrations: locker: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	case SQLite:
		// SQLite has no advisory locks; the sqlite backend serialises
		// migrators with a file lock before calling Up.
		gd = goose.DialectSQLite3
	default:
		return nil, fmt.Errorf("migrations: unknown dialect %q", d)
	}
	// Migration numbers are handed out to parallel pieces of work, so one
	// can land after a higher number did (00012 after 00014): a database
	// migrated in between must get the late one, not refuse to start.
	opts = append(opts, goose.WithAllowOutofOrder(true))
	return goose.NewProvider(gd, db, sub, opts...)
}

// Up applies every pending migration and returns how many were applied.
// Running it on an up-to-date schema is a no-op.
func Up(ctx context.Context, db *sql.DB, d Dialect) (int, error) {
	p, err := provider(db, d)
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("migrations: up: %w", err)
	}
	return len(res), nil
}

// List reports every known migration and whether it is applied.
func List(ctx context.Context, db *sql.DB, d Dialect) ([]Status, error) {
	p, err := provider(db, d)
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: status: %w", err)
	}
	out := make([]Status, 0, len(st))
	for _, s := range st {
		out = append(out, Status{
			Version: s.Source.Version,
			Name:    s.Source.Path,
			Applied: s.State == goose.StateApplied,
		})
	}
	return out, nil
}

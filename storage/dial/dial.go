package dial

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/sesameauth/sesame/migrations"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/postgres"
	"github.com/sesameauth/sesame/storage/sqlite"
)

// Migrator applies and reports schema migrations.
type Migrator interface {
	Migrate(ctx context.Context) (int, error)
	MigrationStatus(ctx context.Context) ([]migrations.Status, error)
}

// Backend names a store implementation.
type Backend string

const (
	SQLite   Backend = "sqlite"
	Postgres Backend = "postgres"
)

// ErrUnknownScheme is returned for a URL that names no supported backend.
var ErrUnknownScheme = errors.New("unsupported database URL: want sqlite:PATH or postgres://…")

// Parse tells which backend a database URL names and the backend's own
// address (the file path for SQLite, the URL for Postgres).
func Parse(databaseURL string) (Backend, string, error) {
	if path, ok := strings.CutPrefix(databaseURL, "sqlite:"); ok {
		if path == "" {
			return "", "", fmt.Errorf("%w (sqlite: needs a path)", ErrUnknownScheme)
		}
		return SQLite, path, nil
	}
	if u, err := url.Parse(databaseURL); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		return Postgres, databaseURL, nil
	}
	return "", "", fmt.Errorf("%w, got %q", ErrUnknownScheme, Redact(databaseURL))
}

// connectTimeout bounds how long Open waits for an unreachable database, so
// a CLI command against a down server fails in seconds, not minutes.
const connectTimeout = 10 * time.Second

// Open connects to the store named by databaseURL and checks it answers.
// It does not migrate.
func Open(ctx context.Context, databaseURL string) (storage.Store, Migrator, error) {
	backend, addr, err := Parse(databaseURL)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	switch backend {
	case SQLite:
		st, err := sqlite.Open(ctx, addr)
		if err != nil {
			return nil, nil, fmt.Errorf("open SQLite database %s: %w", addr, err)
		}
		return st, st, nil
	default:
		st, err := postgres.Open(ctx, addr)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot reach Postgres at %s: %w", Redact(addr), err)
		}
		if err := st.Ping(ctx); err != nil {
			_ = st.Close()
			return nil, nil, fmt.Errorf("cannot reach Postgres at %s: %w", Redact(addr), err)
		}
		return st, st, nil
	}
}

// Redact masks the password of a database URL for messages and logs.
func Redact(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil || u.User == nil {
		return databaseURL
	}
	return u.Redacted()
}

package dial

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
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
var ErrUnknownScheme = errors.New("unsupported database URL: want sqlite:PATH, postgres://… or host=… key=value")

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
	if IsKeywordDSN(databaseURL) {
		return Postgres, databaseURL, nil
	}
	return "", "", fmt.Errorf("%w, got %q", ErrUnknownScheme, Redact(databaseURL))
}

// connectTimeout bounds how long Open waits for an unreachable database, so
// a CLI command against a down server fails in seconds, not minutes.
const connectTimeout = 10 * time.Second

// keywordDSN matches the start of a libpq key=value connection string
// (host=h1,h2 port=5432,5432 dbname=sesame …).
var keywordDSN = regexp.MustCompile(`^\s*[a-z_]+\s*=`)

// IsKeywordDSN reports whether s is a Postgres connection string in
// key=value form rather than a URL.
func IsKeywordDSN(s string) bool { return !strings.Contains(s, "://") && keywordDSN.MatchString(s) }

// Options are the connection settings beyond the database URL.
type Options struct {
	// ListenURL (SESAME_DATABASE_LISTEN_URL) is a direct Postgres
	// connection for LISTEN/NOTIFY, session advisory locks and
	// migrations when DatabaseURL goes through a transaction pooler.
	ListenURL string
}

// Open connects to the store named by databaseURL and checks it answers.
// It does not migrate.
func Open(ctx context.Context, databaseURL string) (storage.Store, Migrator, error) {
	return OpenWith(ctx, databaseURL, Options{})
}

// OpenWith is Open with Options.
func OpenWith(ctx context.Context, databaseURL string, opts Options) (storage.Store, Migrator, error) {
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
		if opts.ListenURL != "" {
			if b, _, err := Parse(opts.ListenURL); err != nil || b != Postgres {
				return nil, nil, fmt.Errorf("SESAME_DATABASE_LISTEN_URL %s is not a Postgres URL", Redact(opts.ListenURL))
			}
		}
		st, err := postgres.OpenWith(ctx, addr, postgres.Options{SessionURL: opts.ListenURL})
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

// keywordPassword is the password of a key=value connection string,
// quoted or not.
var keywordPassword = regexp.MustCompile(`(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// Redact masks the password of a database URL for messages and logs.
func Redact(databaseURL string) string {
	if IsKeywordDSN(databaseURL) {
		return keywordPassword.ReplaceAllString(databaseURL, "${1}xxxxx")
	}
	u, err := url.Parse(databaseURL)
	if err != nil || u.User == nil {
		return databaseURL
	}
	return u.Redacted()
}

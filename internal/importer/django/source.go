package django

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" database/sql driver
	_ "modernc.org/sqlite"             // "sqlite" database/sql driver
)

// ErrUnsupportedSchema is returned for a database that is not a Django
// database this importer understands.
var ErrUnsupportedSchema = errors.New("django: unsupported schema")

// ErrNoDatabase is returned for a sqlite:PATH that does not exist.
var ErrNoDatabase = errors.New("django: no such database")

// ErrSource is returned when the source database cannot be opened or read.
var ErrSource = errors.New("django: source database")

// minAuthMigration is the oldest auth migration the importer needs
// applied: Django 2.0's, after which auth_user has its current shape
// (username 150 characters, last_name 150).
const minAuthMigration = "0009_alter_user_last_name_max_length"

// source is an open Django database.
type source struct {
	db      *sql.DB
	dialect string // "postgres" | "sqlite"
	tokens  bool   // authtoken_token exists
}

// openSource opens a Django database read-only from
// postgres://… or sqlite:PATH.
func openSource(ctx context.Context, raw string) (*source, error) {
	var s source
	var dsn, driver string
	switch {
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		driver, s.dialect = "pgx", "postgres"
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: --from: %v", ErrSource, err)
		}
		q := u.Query()
		q.Set("default_transaction_read_only", "on")
		u.RawQuery = q.Encode()
		dsn = u.String()
	case strings.HasPrefix(raw, "sqlite:"):
		driver, s.dialect = "sqlite", "sqlite"
		path := strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite:"), "//")
		if path == "" {
			return nil, fmt.Errorf("%w: --from sqlite:PATH needs a path", ErrSource)
		}
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("%w: %s does not exist or cannot be read: %v", ErrNoDatabase, path, err)
		}
		dsn = "file:" + path + "?mode=ro"
	default:
		return nil, fmt.Errorf("%w: --from must be postgres://… or sqlite:PATH", ErrSource)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSource, err)
	}
	s.db = db
	if err := s.checkSchema(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return &s, nil
}

func (s *source) close() error { return s.db.Close() }

func (s *source) tableExists(ctx context.Context, name string) (bool, error) {
	q := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if s.dialect == "postgres" {
		q = `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`
	}
	var n int
	if err := s.db.QueryRowContext(ctx, q, name).Scan(&n); err != nil {
		return false, fmt.Errorf("%w: %v", ErrSource, err)
	}
	return n > 0, nil
}

// checkSchema refuses anything but a migrated Django (2.0 or later) auth
// schema.
func (s *source) checkSchema(ctx context.Context) error {
	ok, err := s.tableExists(ctx, "django_migrations")
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: no django_migrations table (is this a Django database? run manage.py migrate first)", ErrUnsupportedSchema)
	}
	var names []string
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM django_migrations WHERE app = 'auth' ORDER BY name`)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSource, err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return fmt.Errorf("%w: %v", ErrSource, err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrSource, err)
	}
	found := false
	for _, n := range names {
		if n == minAuthMigration {
			found = true
		}
	}
	if !found {
		last := "none"
		if len(names) > 0 {
			last = names[len(names)-1]
		}
		return fmt.Errorf("%w: django.contrib.auth migration %s is not applied (latest: %s); Django 2.0 or later is required", ErrUnsupportedSchema, minAuthMigration, last)
	}
	for _, t := range []string{"auth_user", "auth_group", "auth_user_groups"} {
		if ok, err := s.tableExists(ctx, t); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("%w: table %s is missing", ErrUnsupportedSchema, t)
		}
	}
	// The columns we read, so a custom user model fails here, not midway.
	if _, err := s.db.ExecContext(ctx, `SELECT id, username, email, first_name, last_name, is_active, date_joined, last_login, password FROM auth_user WHERE 1 = 0`); err != nil {
		return fmt.Errorf("%w: auth_user lacks the columns of Django's User model: %v", ErrUnsupportedSchema, err)
	}
	s.tokens, err = s.tableExists(ctx, "authtoken_token")
	return err
}

// djangoUser is one auth_user row.
type djangoUser struct {
	ID         int64
	Username   string
	Email      string
	FirstName  string
	LastName   string
	IsActive   bool
	DateJoined time.Time
	LastLogin  time.Time // zero: never
	Password   string
}

func (s *source) users(ctx context.Context, fn func(djangoUser) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT id, username, email, first_name, last_name, is_active, date_joined, last_login, password FROM auth_user ORDER BY id`)
	if err != nil {
		return fmt.Errorf("%w: read auth_user: %v", ErrSource, err)
	}
	defer rows.Close()
	for rows.Next() {
		var u djangoUser
		var joined, last any
		if err := rows.Scan(&u.ID, &u.Username, &u.Email, &u.FirstName, &u.LastName, &u.IsActive, &joined, &last, &u.Password); err != nil {
			return fmt.Errorf("%w: read auth_user: %v", ErrSource, err)
		}
		if u.DateJoined, err = djangoTime(joined); err != nil {
			return fmt.Errorf("%w: auth_user %d date_joined: %v", ErrSource, u.ID, err)
		}
		if u.LastLogin, err = djangoTime(last); err != nil {
			return fmt.Errorf("%w: auth_user %d last_login: %v", ErrSource, u.ID, err)
		}
		if err := fn(u); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%w: read auth_user: %v", ErrSource, err)
	}
	return nil
}

// djangoTime reads a datetime column: time.Time from pgx (and from
// SQLite when the driver parses it), text "2006-01-02 15:04:05[.ffffff]"
// (UTC, USE_TZ) from SQLite otherwise; NULL is the zero time.
func djangoTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case nil:
		return time.Time{}, nil
	case time.Time:
		return t.UTC(), nil
	case []byte:
		return djangoTime(string(t))
	case string:
		for _, layout := range []string{"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", time.RFC3339Nano} {
			if p, err := time.Parse(layout, t); err == nil {
				return p.UTC(), nil
			}
		}
		return time.Time{}, fmt.Errorf("unreadable time %q", t)
	}
	return time.Time{}, fmt.Errorf("unexpected type %T", v)
}

type djangoGroup struct {
	ID   int64
	Name string
}

func (s *source) groups(ctx context.Context) ([]djangoGroup, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name FROM auth_group ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("%w: read auth_group: %v", ErrSource, err)
	}
	defer rows.Close()
	var out []djangoGroup
	for rows.Next() {
		var g djangoGroup
		if err := rows.Scan(&g.ID, &g.Name); err != nil {
			return nil, fmt.Errorf("%w: read auth_group: %v", ErrSource, err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%w: read auth_group: %v", ErrSource, err)
	}
	return out, nil
}

type membership struct{ ID, UserID, GroupID int64 }

func (s *source) memberships(ctx context.Context) ([]membership, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, user_id, group_id FROM auth_user_groups ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("%w: read auth_user_groups: %v", ErrSource, err)
	}
	defer rows.Close()
	var out []membership
	for rows.Next() {
		var m membership
		if err := rows.Scan(&m.ID, &m.UserID, &m.GroupID); err != nil {
			return nil, fmt.Errorf("%w: read auth_user_groups: %v", ErrSource, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%w: read auth_user_groups: %v", ErrSource, err)
	}
	return out, nil
}

type drfToken struct {
	Key     string
	UserID  int64
	Created time.Time
}

func (s *source) drfTokens(ctx context.Context) ([]drfToken, error) {
	if !s.tokens {
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT key, user_id, created FROM authtoken_token ORDER BY created, key`)
	if err != nil {
		return nil, fmt.Errorf("%w: read authtoken_token: %v", ErrSource, err)
	}
	defer rows.Close()
	var out []drfToken
	for rows.Next() {
		var t drfToken
		var created any
		if err := rows.Scan(&t.Key, &t.UserID, &created); err != nil {
			return nil, fmt.Errorf("%w: read authtoken_token: %v", ErrSource, err)
		}
		if t.Created, err = djangoTime(created); err != nil {
			return nil, fmt.Errorf("%w: authtoken_token created: %v", ErrSource, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%w: read authtoken_token: %v", ErrSource, err)
	}
	return out, nil
}

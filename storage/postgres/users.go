package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesameauth/sesame/storage"
)

const userCols = `id, username, email, email_verified, name, password_hash, disabled, created_at, updated_at, last_login_at`

// userKey is the expression the unique index and the pagination use; it
// must be spelled exactly like this for the planner to use the index.
const userKey = `(lower(username) COLLATE "C")`

func scanUser(row pgx.CollectableRow) (storage.User, error) {
	var u storage.User
	err := row.Scan(&u.ID, &u.Username, &u.Email, &u.EmailVerified, &u.Name,
		&u.PasswordHash, &u.Disabled, &u.CreatedAt, &u.UpdatedAt, &u.LastLoginAt)
	u.CreatedAt, u.UpdatedAt, u.LastLoginAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC(), utcPtr(u.LastLoginAt)
	return u, err
}

// CreateUser inserts u; ErrConflict if its id or (case-insensitively) its
// username is taken.
func (s *Store) CreateUser(ctx context.Context, u storage.User) error {
	_, err := s.q(ctx).Exec(ctx, `INSERT INTO users (`+userCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		u.ID, u.Username, u.Email, u.EmailVerified, u.Name, u.PasswordHash,
		u.Disabled, ts(u.CreatedAt), ts(u.UpdatedAt), tsPtr(u.LastLoginAt))
	return mapErr("create user", err)
}

// GetUser returns the user with id.
func (s *Store) GetUser(ctx context.Context, id string) (storage.User, error) {
	return s.oneUser(ctx, "get user", `SELECT `+userCols+` FROM users WHERE id = $1`, id)
}

// GetUserByUsername matches username case-insensitively.
func (s *Store) GetUserByUsername(ctx context.Context, username string) (storage.User, error) {
	return s.oneUser(ctx, "get user by username",
		`SELECT `+userCols+` FROM users WHERE `+userKey+` = lower($1)`, username)
}

func (s *Store) oneUser(ctx context.Context, op, sql string, args ...any) (storage.User, error) {
	rows, _ := s.q(ctx).Query(ctx, sql, args...)
	u, err := pgx.CollectExactlyOneRow(rows, scanUser)
	if err != nil {
		return storage.User{}, mapErr(op, err)
	}
	return u, nil
}

// UpdateUser replaces every field of the user but ID and CreatedAt.
func (s *Store) UpdateUser(ctx context.Context, u storage.User) error {
	tag, err := s.q(ctx).Exec(ctx, `UPDATE users SET username = $2, email = $3,
		email_verified = $4, name = $5, password_hash = $6, disabled = $7, updated_at = $8,
		last_login_at = $9 WHERE id = $1`,
		u.ID, u.Username, u.Email, u.EmailVerified, u.Name, u.PasswordHash, u.Disabled, ts(u.UpdatedAt),
		tsPtr(u.LastLoginAt))
	if err != nil {
		return mapErr("update user", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("update user")
	}
	return nil
}

// RecordLogin sets last_login_at only.
func (s *Store) RecordLogin(ctx context.Context, id string, at time.Time) error {
	tag, err := s.q(ctx).Exec(ctx, `UPDATE users SET last_login_at = $2 WHERE id = $1`, id, ts(at))
	if err != nil {
		return mapErr("record login", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("record login")
	}
	return nil
}

// DeleteUser removes the user, its group memberships, factors and
// identities (one statement); ErrNotFound if absent.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	tag, err := s.q(ctx).Exec(ctx, `WITH m AS (DELETE FROM group_members WHERE user_id = $1),
		f AS (DELETE FROM user_factors WHERE user_id = $1),
		c AS (DELETE FROM recovery_codes WHERE user_id = $1),
		i AS (DELETE FROM identities WHERE user_id = $1)
		DELETE FROM users WHERE id = $1`, id)
	if err != nil {
		return mapErr("delete user", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("delete user")
	}
	return nil
}

// ListUsers returns one page of users ordered by lower(username) (byte
// order), optionally filtered by a case-insensitive substring of the
// username, email or name.
func (s *Store) ListUsers(ctx context.Context, o storage.ListOptions) ([]storage.User, string, error) {
	const op = "list users"
	limit := o.EffectiveLimit()
	var (
		where []string
		args  []any
	)
	if o.Cursor != "" {
		after, err := decodeCursor("users", o.Cursor)
		if err != nil {
			return nil, "", err
		}
		args = append(args, after)
		where = append(where, fmt.Sprintf(`%s > $%d`, userKey, len(args)))
	}
	if o.Query != "" {
		args = append(args, likePattern(o.Query))
		n := len(args)
		where = append(where, fmt.Sprintf(`(username ILIKE $%[1]d OR email ILIKE $%[1]d OR name ILIKE $%[1]d)`, n))
	}
	// The sort key is selected too: the cursor carries the key exactly as
	// Postgres folded it, so the next page starts right after it whatever
	// Go's case folding would say.
	sql := `SELECT ` + userCols + `, lower(username) FROM users`
	if len(where) > 0 {
		sql += ` WHERE ` + strings.Join(where, ` AND `)
	}
	args = append(args, limit+1) // one more tells whether a next page exists
	sql += fmt.Sprintf(` ORDER BY %s LIMIT $%d`, userKey, len(args))

	rows, err := s.q(ctx).Query(ctx, sql, args...)
	if err != nil {
		return nil, "", mapErr(op, err)
	}
	defer rows.Close()
	var (
		users   []storage.User
		lastKey string
	)
	for rows.Next() {
		if len(users) == limit {
			// The extra row only proves a next page exists; the cursor
			// is the key of the last row returned.
			return users, encodeCursor("users", lastKey), nil
		}
		var u storage.User
		if err := rows.Scan(&u.ID, &u.Username, &u.Email, &u.EmailVerified, &u.Name,
			&u.PasswordHash, &u.Disabled, &u.CreatedAt, &u.UpdatedAt, &u.LastLoginAt, &lastKey); err != nil {
			return nil, "", mapErr(op, err)
		}
		u.CreatedAt, u.UpdatedAt, u.LastLoginAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC(), utcPtr(u.LastLoginAt)
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, "", mapErr(op, err)
	}
	return users, "", nil
}

// CountUsers returns the number of users.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.q(ctx).QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, mapErr("count users", err)
	}
	return n, nil
}

package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/sesameauth/sesame/storage"
)

const userCols = `id, username, email, email_verified, name, password_hash, disabled, created_at, updated_at, last_login_at`

// foldUsername is the case-insensitive form that is unique and sorted on.
// Go's Unicode folding rather than SQLite's lower(), which folds ASCII only.
func foldUsername(u string) string { return strings.ToLower(u) }

// userSearch is the lower-cased text ListUsers' Query matches against; the
// NUL separators keep a query from matching across two fields.
func userSearch(u storage.User) string {
	return strings.ToLower(u.Username + "\x00" + u.Email + "\x00" + u.Name)
}

func scanUser(row interface{ Scan(...any) error }) (storage.User, error) {
	var u storage.User
	err := row.Scan(&u.ID, &u.Username, &u.Email, &u.EmailVerified, &u.Name, &u.PasswordHash,
		&u.Disabled, timeCol{&u.CreatedAt}, timeCol{&u.UpdatedAt}, nullTimeCol{&u.LastLoginAt})
	return u, err
}

// CreateUser inserts; ErrConflict if the ID or (case-insensitively) the
// username exists.
func (s *Store) CreateUser(ctx context.Context, u storage.User) error {
	_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO users (`+userCols+`, username_lower, search)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Username, u.Email, boolInt(u.EmailVerified), u.Name, u.PasswordHash,
		boolInt(u.Disabled), ts(u.CreatedAt), ts(u.UpdatedAt), tsPtr(u.LastLoginAt), foldUsername(u.Username), userSearch(u))
	return wrap("create user", err)
}

// GetUser returns the user with id; ErrNotFound if absent.
func (s *Store) GetUser(ctx context.Context, id string) (storage.User, error) {
	u, err := scanUser(s.q(ctx).QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	return u, wrap("get user", err)
}

// GetUserByUsername matches case-insensitively.
func (s *Store) GetUserByUsername(ctx context.Context, username string) (storage.User, error) {
	u, err := scanUser(s.q(ctx).QueryRowContext(ctx,
		`SELECT `+userCols+` FROM users WHERE username_lower = ?`, foldUsername(username)))
	return u, wrap("get user by username", err)
}

// UpdateUser replaces every field but ID and CreatedAt.
func (s *Store) UpdateUser(ctx context.Context, u storage.User) error {
	res, err := s.q(ctx).ExecContext(ctx, `UPDATE users SET username = ?, username_lower = ?,
		email = ?, email_verified = ?, name = ?, search = ?, password_hash = ?, disabled = ?,
		updated_at = ?, last_login_at = ? WHERE id = ?`,
		u.Username, foldUsername(u.Username), u.Email, boolInt(u.EmailVerified), u.Name,
		userSearch(u), u.PasswordHash, boolInt(u.Disabled), ts(u.UpdatedAt), tsPtr(u.LastLoginAt), u.ID)
	if err != nil {
		return wrap("update user", err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return wrap("update user", err)
	}
	if n == 0 {
		return notFound("update user", u.ID)
	}
	return nil
}

// RecordLogin sets last_login_at only.
func (s *Store) RecordLogin(ctx context.Context, id string, at time.Time) error {
	n, err := s.execCount(ctx, "record login", `UPDATE users SET last_login_at = ? WHERE id = ?`, ts(at), id)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("record login", id)
	}
	return nil
}

// DeleteUser removes a user, its group memberships, factors and identities in one
// transaction; ErrNotFound if absent.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	return storage.InTx(ctx, s, func(ctx context.Context) error {
		if _, err := s.q(ctx).ExecContext(ctx, `DELETE FROM group_members WHERE user_id = ?`, id); err != nil {
			return wrap("delete user's group memberships", err)
		}
		if _, err := s.deleteUserFactors(ctx, id); err != nil {
			return err
		}
		if _, err := s.q(ctx).ExecContext(ctx, `DELETE FROM identities WHERE user_id = ?`, id); err != nil {
			return wrap("delete user's identities", err)
		}
		return s.deleteOne(ctx, "delete user", `DELETE FROM users WHERE id = ?`, id)
	})
}

// ListUsers orders by the case-folded username; the cursor is the folded
// username of the last row (unique, so pages neither skip nor repeat).
func (s *Store) ListUsers(ctx context.Context, o storage.ListOptions) ([]storage.User, string, error) {
	limit := o.EffectiveLimit()
	where := []string{"1 = 1"}
	var args []any
	if o.Cursor != "" {
		after, err := decodeCursor(o.Cursor)
		if err != nil {
			return nil, "", wrap("list users", err)
		}
		where = append(where, "username_lower > ?")
		args = append(args, after)
	}
	if o.Query != "" {
		// instr on pre-lowered text: no LIKE wildcards to escape.
		where = append(where, "instr(search, ?) > 0")
		args = append(args, strings.ToLower(o.Query))
	}
	args = append(args, limit+1)
	rows, err := s.q(ctx).QueryContext(ctx, `SELECT `+userCols+`, username_lower FROM users WHERE `+
		strings.Join(where, " AND ")+` ORDER BY username_lower LIMIT ?`, args...)
	if err != nil {
		return nil, "", wrap("list users", err)
	}
	defer rows.Close()
	var (
		out  []storage.User
		keys []string
	)
	for rows.Next() {
		var (
			u   storage.User
			key string
		)
		if err := rows.Scan(&u.ID, &u.Username, &u.Email, &u.EmailVerified, &u.Name, &u.PasswordHash,
			&u.Disabled, timeCol{&u.CreatedAt}, timeCol{&u.UpdatedAt}, nullTimeCol{&u.LastLoginAt}, &key); err != nil {
			return nil, "", wrap("list users", err)
		}
		out = append(out, u)
		keys = append(keys, key)
	}
	if err := rows.Err(); err != nil {
		return nil, "", wrap("list users", err)
	}
	if len(out) > limit {
		return out[:limit], encodeCursor(keys[limit-1]), nil
	}
	return out, "", nil
}

// CountUsers returns how many users exist.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.q(ctx).QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, wrap("count users", err)
}

// deleteOne runs a DELETE that must remove exactly one row; ErrNotFound
// when it removed none.
func (s *Store) deleteOne(ctx context.Context, op, query string, args ...any) error {
	res, err := s.q(ctx).ExecContext(ctx, query, args...)
	if err != nil {
		return wrap(op, err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return wrap(op, err)
	}
	if n == 0 {
		return wrap(op, sql.ErrNoRows)
	}
	return nil
}

// execCount runs a statement and returns how many rows it changed.
func (s *Store) execCount(ctx context.Context, op, query string, args ...any) (int, error) {
	res, err := s.q(ctx).ExecContext(ctx, query, args...)
	if err != nil {
		return 0, wrap(op, err)
	}
	n, err := rowsAffected(res)
	return n, wrap(op, err)
}

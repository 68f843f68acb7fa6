package sqlite

import (
	"context"
	"strings"
	"time"

	"github.com/sesameauth/sesame/storage"
)

const groupCols = `id, name, description, created_at`

func scanGroup(row interface{ Scan(...any) error }) (storage.Group, error) {
	var g storage.Group
	err := row.Scan(&g.ID, &g.Name, &g.Description, timeCol{&g.CreatedAt})
	return g, err
}

// CreateGroup inserts; ErrConflict if the id or the folded name exists.
func (s *Store) CreateGroup(ctx context.Context, g storage.Group) error {
	_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO groups (`+groupCols+`, name_lower)
		VALUES (?, ?, ?, ?, ?)`, g.ID, g.Name, g.Description, ts(g.CreatedAt), strings.ToLower(g.Name))
	return wrap("create group", err)
}

// GetGroup returns the group with id; ErrNotFound if absent.
func (s *Store) GetGroup(ctx context.Context, id string) (storage.Group, error) {
	g, err := scanGroup(s.q(ctx).QueryRowContext(ctx, `SELECT `+groupCols+` FROM groups WHERE id = ?`, id))
	return g, wrap("get group", err)
}

// GetGroupByName matches case-insensitively (Go's folding, as usernames).
func (s *Store) GetGroupByName(ctx context.Context, name string) (storage.Group, error) {
	g, err := scanGroup(s.q(ctx).QueryRowContext(ctx,
		`SELECT `+groupCols+` FROM groups WHERE name_lower = ?`, strings.ToLower(name)))
	return g, wrap("get group by name", err)
}

// ListGroups lists every group by folded name.
func (s *Store) ListGroups(ctx context.Context) ([]storage.Group, error) {
	return s.queryGroups(ctx, "list groups", `SELECT `+groupCols+` FROM groups ORDER BY name_lower`)
}

// ListUserGroups lists the groups userID belongs to, by folded name.
func (s *Store) ListUserGroups(ctx context.Context, userID string) ([]storage.Group, error) {
	return s.queryGroups(ctx, "list user groups", `SELECT g.id, g.name, g.description, g.created_at
		FROM group_members m JOIN groups g ON g.id = m.group_id
		WHERE m.user_id = ? ORDER BY g.name_lower`, userID)
}

func (s *Store) queryGroups(ctx context.Context, op, query string, args ...any) ([]storage.Group, error) {
	rows, err := s.q(ctx).QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []storage.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, g)
	}
	return out, wrap(op, rows.Err())
}

// DeleteGroup removes a group and its memberships in one transaction;
// ErrNotFound if absent.
func (s *Store) DeleteGroup(ctx context.Context, id string) error {
	return storage.InTx(ctx, s, func(ctx context.Context) error {
		if _, err := s.q(ctx).ExecContext(ctx, `DELETE FROM group_members WHERE group_id = ?`, id); err != nil {
			return wrap("delete group members", err)
		}
		return s.deleteOne(ctx, "delete group", `DELETE FROM groups WHERE id = ?`, id)
	})
}

// AddGroupMember inserts a membership unless it exists.
func (s *Store) AddGroupMember(ctx context.Context, groupID, userID string, at time.Time) (bool, error) {
	res, err := s.q(ctx).ExecContext(ctx, `INSERT INTO group_members (group_id, user_id, created_at)
		VALUES (?, ?, ?) ON CONFLICT (group_id, user_id) DO NOTHING`, groupID, userID, ts(at))
	if err != nil {
		return false, wrap("add group member", err)
	}
	n, err := rowsAffected(res)
	return n == 1, wrap("add group member", err)
}

// RemoveGroupMember deletes a membership; ErrNotFound if there was none.
func (s *Store) RemoveGroupMember(ctx context.Context, groupID, userID string) error {
	return s.deleteOne(ctx, "remove group member",
		`DELETE FROM group_members WHERE group_id = ? AND user_id = ?`, groupID, userID)
}

// ListGroupMembers returns the member user ids of a group, sorted.
func (s *Store) ListGroupMembers(ctx context.Context, groupID string) ([]string, error) {
	const op = "list group members"
	rows, err := s.q(ctx).QueryContext(ctx,
		`SELECT user_id FROM group_members WHERE group_id = ? ORDER BY user_id`, groupID)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, id)
	}
	return out, wrap(op, rows.Err())
}

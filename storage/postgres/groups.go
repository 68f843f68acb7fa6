package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesameauth/sesame/storage"
)

const groupCols = `id, name, description, created_at`

func scanGroup(row pgx.CollectableRow) (storage.Group, error) {
	var g storage.Group
	if err := row.Scan(&g.ID, &g.Name, &g.Description, &g.CreatedAt); err != nil {
		return storage.Group{}, err
	}
	g.CreatedAt = g.CreatedAt.UTC()
	return g, nil
}

// CreateGroup inserts; ErrConflict if the id or lower(name) exists.
func (s *Store) CreateGroup(ctx context.Context, g storage.Group) error {
	_, err := s.q(ctx).Exec(ctx, `INSERT INTO groups (`+groupCols+`) VALUES ($1, $2, $3, $4)`,
		g.ID, g.Name, g.Description, ts(g.CreatedAt))
	return mapErr("create group", err)
}

// GetGroup returns the group with id; ErrNotFound if absent.
func (s *Store) GetGroup(ctx context.Context, id string) (storage.Group, error) {
	return s.oneGroup(ctx, "get group", `SELECT `+groupCols+` FROM groups WHERE id = $1`, id)
}

// GetGroupByName matches case-insensitively.
func (s *Store) GetGroupByName(ctx context.Context, name string) (storage.Group, error) {
	return s.oneGroup(ctx, "get group by name",
		`SELECT `+groupCols+` FROM groups WHERE lower(name) COLLATE "C" = lower($1) COLLATE "C"`, name)
}

func (s *Store) oneGroup(ctx context.Context, op, query string, args ...any) (storage.Group, error) {
	rows, _ := s.q(ctx).Query(ctx, query, args...)
	g, err := pgx.CollectExactlyOneRow(rows, scanGroup)
	return g, mapErr(op, err)
}

// ListGroups lists every group by lower(name).
func (s *Store) ListGroups(ctx context.Context) ([]storage.Group, error) {
	rows, _ := s.q(ctx).Query(ctx, `SELECT `+groupCols+` FROM groups ORDER BY lower(name) COLLATE "C"`)
	gs, err := pgx.CollectRows(rows, scanGroup)
	return gs, mapErr("list groups", err)
}

// ListUserGroups lists the groups userID belongs to, by lower(name).
func (s *Store) ListUserGroups(ctx context.Context, userID string) ([]storage.Group, error) {
	rows, _ := s.q(ctx).Query(ctx, `SELECT g.id, g.name, g.description, g.created_at
		FROM group_members m JOIN groups g ON g.id = m.group_id
		WHERE m.user_id = $1 ORDER BY lower(g.name) COLLATE "C"`, userID)
	gs, err := pgx.CollectRows(rows, scanGroup)
	return gs, mapErr("list user groups", err)
}

// DeleteGroup removes a group and its memberships (one statement);
// ErrNotFound if absent.
func (s *Store) DeleteGroup(ctx context.Context, id string) error {
	tag, err := s.q(ctx).Exec(ctx, `WITH m AS (DELETE FROM group_members WHERE group_id = $1)
		DELETE FROM groups WHERE id = $1`, id)
	if err != nil {
		return mapErr("delete group", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("delete group")
	}
	return nil
}

// AddGroupMember inserts a membership unless it exists.
func (s *Store) AddGroupMember(ctx context.Context, groupID, userID string, at time.Time) (bool, error) {
	tag, err := s.q(ctx).Exec(ctx, `INSERT INTO group_members (group_id, user_id, created_at)
		VALUES ($1, $2, $3) ON CONFLICT (group_id, user_id) DO NOTHING`, groupID, userID, ts(at))
	if err != nil {
		return false, mapErr("add group member", err)
	}
	return tag.RowsAffected() == 1, nil
}

// RemoveGroupMember deletes a membership; ErrNotFound if there was none.
func (s *Store) RemoveGroupMember(ctx context.Context, groupID, userID string) error {
	tag, err := s.q(ctx).Exec(ctx, `DELETE FROM group_members WHERE group_id = $1 AND user_id = $2`, groupID, userID)
	if err != nil {
		return mapErr("remove group member", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("remove group member")
	}
	return nil
}

// ListGroupMembers returns the member user ids of a group, sorted.
func (s *Store) ListGroupMembers(ctx context.Context, groupID string) ([]string, error) {
	rows, _ := s.q(ctx).Query(ctx,
		`SELECT user_id FROM group_members WHERE group_id = $1 ORDER BY user_id COLLATE "C"`, groupID)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, mapErr("list group members", err)
}

package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sesameauth/sesame/storage"
)

// GroupView is a group as `sesame groups … --json` and /admin/groups show
// it; Members (user ids) only where a single group is shown.
type GroupView struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	Members     []string  `json:"members,omitempty"`
}

// NewGroupView converts a stored group.
func NewGroupView(g storage.Group, members []string) GroupView {
	return GroupView{ID: g.ID, Name: g.Name, Description: g.Description, CreatedAt: g.CreatedAt, Members: members}
}

// checkGroupName: what a `groups` claim value may be — Django's auth_group
// names (up to 150 characters) without control characters or spaces at
// the ends.
func checkGroupName(raw string) (string, error) {
	n := strings.TrimSpace(raw)
	switch {
	case n == "":
		return "", invalid("name", "", "must not be empty")
	case !utf8.ValidString(n):
		return "", invalid("name", "", "must be valid UTF-8")
	case utf8.RuneCountInString(n) > 150:
		return "", invalid("name", n, "must be at most 150 characters")
	}
	for _, r := range n {
		if unicode.IsControl(r) {
			return "", invalid("name", n, "must not contain control characters")
		}
	}
	return n, nil
}

func (s *Service) newGroup(name, description string) (storage.Group, error) {
	id, err := newUserID() // a random UUIDv4, like user ids
	if err != nil {
		return storage.Group{}, err
	}
	return storage.Group{ID: id, Name: name, Description: description, CreatedAt: s.clock()}, nil
}

// CreateGroup validates and stores a new group; a name taken
// case-insensitively wraps storage.ErrConflict.
func (s *Service) CreateGroup(ctx context.Context, actor, name, description string) (storage.Group, error) {
	name, err := checkGroupName(name)
	if err != nil {
		return storage.Group{}, err
	}
	if description, err = checkText("description", description, 500); err != nil {
		return storage.Group{}, err
	}
	g, err := s.newGroup(name, description)
	if err != nil {
		return storage.Group{}, err
	}
	err = s.inTx(ctx, func(ctx context.Context) error {
		if err := s.store.CreateGroup(ctx, g); err != nil {
			if errors.Is(err, storage.ErrConflict) {
				return conflictf("group %q already exists", name)
			}
			return fmt.Errorf("create group: %w", err)
		}
		return s.audit(ctx, actor, "group.created", "", "", map[string]string{"group_id": g.ID, "name": name})
	})
	return g, err
}

// GetGroup finds a group by id or (case-insensitively) by name.
func (s *Service) GetGroup(ctx context.Context, idOrName string) (storage.Group, error) {
	key := strings.TrimSpace(idOrName)
	if key == "" {
		return storage.Group{}, invalid("group", "", "must not be empty")
	}
	g, err := s.store.GetGroup(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		g, err = s.store.GetGroupByName(ctx, key)
	}
	if err != nil {
		return storage.Group{}, mapNotFound(err, "group", key)
	}
	return g, nil
}

// GroupMembers returns the user ids of a group's members.
func (s *Service) GroupMembers(ctx context.Context, groupID string) ([]string, error) {
	ids, err := s.store.ListGroupMembers(ctx, groupID)
	if err != nil {
		return nil, fmt.Errorf("list group members: %w", err)
	}
	return ids, nil
}

// ListGroups lists every group by name.
func (s *Service) ListGroups(ctx context.Context) ([]storage.Group, error) {
	gs, err := s.store.ListGroups(ctx)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	return gs, nil
}

// ListGroupViews lists every group by name with its members, as
// `sesame groups list` and GET /admin/groups show them.
func (s *Service) ListGroupViews(ctx context.Context) ([]GroupView, error) {
	gs, err := s.ListGroups(ctx)
	if err != nil {
		return nil, err
	}
	views := make([]GroupView, 0, len(gs))
	for _, g := range gs {
		members, err := s.GroupMembers(ctx, g.ID)
		if err != nil {
			return nil, err
		}
		views = append(views, NewGroupView(g, members))
	}
	return views, nil
}

// UserGroupNames returns the names of a user's groups: the `groups` claim.
func (s *Service) UserGroupNames(ctx context.Context, userID string) ([]string, error) {
	return GroupNames(ctx, s.store, userID)
}

// GroupNames returns the names of a user's groups (the `groups` claim)
// from any store that keeps groups, for the token and userinfo paths.
func GroupNames(ctx context.Context, gs interface {
	ListUserGroups(ctx context.Context, userID string) ([]storage.Group, error)
}, userID string) ([]string, error) {
	groups, err := gs.ListUserGroups(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list user groups: %w", err)
	}
	names := make([]string, 0, len(groups))
	for _, g := range groups {
		names = append(names, g.Name)
	}
	return names, nil
}

// DeleteGroup removes a group and its memberships.
func (s *Service) DeleteGroup(ctx context.Context, actor, idOrName string) error {
	return s.inTx(ctx, func(ctx context.Context) error {
		g, err := s.GetGroup(ctx, idOrName)
		if err != nil {
			return err
		}
		if err := s.store.DeleteGroup(ctx, g.ID); err != nil {
			return mapNotFound(err, "group", idOrName)
		}
		return s.audit(ctx, actor, "group.deleted", "", "", map[string]string{"group_id": g.ID, "name": g.Name})
	})
}

// AddGroupMember makes a user (id or username) a member of a group (id or
// name); added is false when it already was.
func (s *Service) AddGroupMember(ctx context.Context, actor, group, user string) (added bool, err error) {
	err = s.inTx(ctx, func(ctx context.Context) error {
		g, u, err := s.groupAndUser(ctx, group, user)
		if err != nil {
			return err
		}
		if added, err = s.store.AddGroupMember(ctx, g.ID, u.ID, s.clock()); err != nil {
			return fmt.Errorf("add group member: %w", err)
		}
		if !added {
			return nil
		}
		return s.audit(ctx, actor, "group.member_added", "", u.ID, map[string]string{"group_id": g.ID, "name": g.Name})
	})
	return added, err
}

// RemoveGroupMember ends a membership; not-found if there was none.
func (s *Service) RemoveGroupMember(ctx context.Context, actor, group, user string) error {
	return s.inTx(ctx, func(ctx context.Context) error {
		g, u, err := s.groupAndUser(ctx, group, user)
		if err != nil {
			return err
		}
		if err := s.store.RemoveGroupMember(ctx, g.ID, u.ID); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return notFound("member of group "+g.Name, u.Username)
			}
			return fmt.Errorf("remove group member: %w", err)
		}
		return s.audit(ctx, actor, "group.member_removed", "", u.ID, map[string]string{"group_id": g.ID, "name": g.Name})
	})
}

func (s *Service) groupAndUser(ctx context.Context, group, user string) (storage.Group, storage.User, error) {
	g, err := s.GetGroup(ctx, group)
	if err != nil {
		return storage.Group{}, storage.User{}, err
	}
	u, err := s.GetUser(ctx, user)
	if err != nil {
		return storage.Group{}, storage.User{}, err
	}
	return g, u, nil
}

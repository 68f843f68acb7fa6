package storagetest

import (
	"context"
	"errors"
	"testing"

	"github.com/sesameauth/sesame/storage"
)

func group(id, name string) storage.Group {
	return storage.Group{ID: id, Name: name, Description: "group " + id, CreatedAt: base.In(zone)}
}

func groupNames(gs []storage.Group) []string {
	out := make([]string, 0, len(gs))
	for _, g := range gs {
		out = append(out, g.Name)
	}
	return out
}

func testGroups(t *testing.T, h Harness) {
	t.Run("create, get by id and by name in any case, list by folded name", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		for _, g := range []storage.Group{group("g-1", "staff"), group("g-2", "Admins"), group("g-3", "Émile")} {
			ok(t, s.CreateGroup(ctx, g), "CreateGroup "+g.ID)
		}
		got, err := s.GetGroup(ctx, "g-2")
		ok(t, err, "GetGroup")
		checkRecord(t, "GetGroup", group("g-2", "Admins"), got)
		got, err = s.GetGroupByName(ctx, "ADMINS")
		ok(t, err, "GetGroupByName")
		checkRecord(t, "GetGroupByName", group("g-2", "Admins"), got)
		got, err = s.GetGroupByName(ctx, "émile")
		ok(t, err, "GetGroupByName folds beyond ASCII")
		if got.ID != "g-3" {
			t.Errorf("GetGroupByName(émile) = %q, want g-3", got.ID)
		}
		_, err = s.GetGroup(ctx, "g-missing")
		wantErr(t, err, storage.ErrNotFound, "GetGroup of a missing id")
		_, err = s.GetGroupByName(ctx, "nobody")
		wantErr(t, err, storage.ErrNotFound, "GetGroupByName of a missing name")
		wantErr(t, s.CreateGroup(ctx, group("g-4", "STAFF")), storage.ErrConflict, "CreateGroup of a name differing in case")
		wantErr(t, s.CreateGroup(ctx, group("g-1", "other")), storage.ErrConflict, "CreateGroup of a duplicate id")
		gs, err := s.ListGroups(ctx)
		ok(t, err, "ListGroups")
		orderedEqual(t, "ListGroups", groupNames(gs), []string{"Admins", "staff", "Émile"})
	})

	t.Run("members: add is idempotent, remove, list both ways, deletes cascade", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateUser(ctx, user("u-1", "alice")), "CreateUser u-1")
		ok(t, s.CreateUser(ctx, user("u-2", "bob")), "CreateUser u-2")
		ok(t, s.CreateGroup(ctx, group("g-1", "staff")), "CreateGroup g-1")
		ok(t, s.CreateGroup(ctx, group("g-2", "admins")), "CreateGroup g-2")
		for _, m := range [][2]string{{"g-1", "u-1"}, {"g-1", "u-2"}, {"g-2", "u-1"}} {
			added, err := s.AddGroupMember(ctx, m[0], m[1], base)
			ok(t, err, "AddGroupMember")
			if !added {
				t.Errorf("AddGroupMember(%s, %s) added=false for a new member", m[0], m[1])
			}
		}
		added, err := s.AddGroupMember(ctx, "g-1", "u-1", at(1))
		ok(t, err, "second AddGroupMember")
		if added {
			t.Error("a second AddGroupMember reported added=true")
		}
		ids, err := s.ListGroupMembers(ctx, "g-1")
		ok(t, err, "ListGroupMembers")
		orderedEqual(t, "ListGroupMembers g-1", ids, []string{"u-1", "u-2"})
		gs, err := s.ListUserGroups(ctx, "u-1")
		ok(t, err, "ListUserGroups")
		orderedEqual(t, "ListUserGroups u-1", groupNames(gs), []string{"admins", "staff"})

		ok(t, s.RemoveGroupMember(ctx, "g-1", "u-2"), "RemoveGroupMember")
		wantErr(t, s.RemoveGroupMember(ctx, "g-1", "u-2"), storage.ErrNotFound, "second RemoveGroupMember")
		ids, err = s.ListGroupMembers(ctx, "g-1")
		ok(t, err, "ListGroupMembers")
		orderedEqual(t, "ListGroupMembers after remove", ids, []string{"u-1"})

		ok(t, s.DeleteGroup(ctx, "g-2"), "DeleteGroup")
		wantErr(t, s.DeleteGroup(ctx, "g-2"), storage.ErrNotFound, "second DeleteGroup")
		gs, err = s.ListUserGroups(ctx, "u-1")
		ok(t, err, "ListUserGroups")
		orderedEqual(t, "ListUserGroups after DeleteGroup", groupNames(gs), []string{"staff"})
		// A group re-created with the name must not inherit members.
		ok(t, s.CreateGroup(ctx, group("g-2b", "admins")), "re-create admins")
		ids, err = s.ListGroupMembers(ctx, "g-2")
		ok(t, err, "ListGroupMembers of the deleted group")
		if len(ids) != 0 {
			t.Errorf("deleted group still has members %v", ids)
		}

		ok(t, s.DeleteUser(ctx, "u-1"), "DeleteUser")
		ids, err = s.ListGroupMembers(ctx, "g-1")
		ok(t, err, "ListGroupMembers after DeleteUser")
		if len(ids) != 0 {
			t.Errorf("deleted user is still a member: %v", ids)
		}
		// A user re-created with the id must not inherit memberships.
		ok(t, s.CreateUser(ctx, user("u-1", "alice")), "re-create u-1")
		gs, err = s.ListUserGroups(ctx, "u-1")
		ok(t, err, "ListUserGroups of the re-created user")
		if len(gs) != 0 {
			t.Errorf("re-created user inherited groups %v", groupNames(gs))
		}
	})

	t.Run("a rolled-back transaction leaves no group or membership", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateUser(ctx, user("u-1", "alice")), "CreateUser")
		boom := errors.New("boom")
		err := storage.InTx(ctx, s, func(ctx context.Context) error {
			if err := s.CreateGroup(ctx, group("g-1", "staff")); err != nil {
				return err
			}
			if _, err := s.AddGroupMember(ctx, "g-1", "u-1", base); err != nil {
				return err
			}
			return boom
		})
		wantErr(t, err, boom, "InTx")
		_, err = s.GetGroup(ctx, "g-1")
		wantErr(t, err, storage.ErrNotFound, "GetGroup after rollback")
		gs, err := s.ListUserGroups(ctx, "u-1")
		ok(t, err, "ListUserGroups")
		if len(gs) != 0 {
			t.Errorf("membership survived a rollback: %v", groupNames(gs))
		}
	})
}

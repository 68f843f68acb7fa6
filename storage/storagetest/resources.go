package storagetest

import (
	"context"
	"errors"
	"testing"

	"github.com/sesameauth/sesame/storage"
)

func resource(id, uri string) storage.Resource {
	return storage.Resource{
		ID: id, URI: uri, Name: "API " + id,
		Scopes: []storage.ResourceScope{
			{Name: "read", Description: "See your notes"},
			{Name: "write", Description: "Change and delete your notes — “all” of them"},
		},
		CreatedAt: base.In(zone), UpdatedAt: at(1).In(zone),
	}
}

func resourceURIs(rs []storage.Resource) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.URI)
	}
	return out
}

func testResources(t *testing.T, h Harness) {
	t.Run("create, get by id and by exact URI, list by URI, scopes keep their order", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		for _, r := range []storage.Resource{
			resource("r-1", "https://notes.example.com"),
			resource("r-2", "https://api.example.com/v1"),
			resource("r-3", "https://API.example.com/v1"),
		} {
			ok(t, s.CreateResource(ctx, r), "CreateResource "+r.ID)
		}
		got, err := s.GetResource(ctx, "r-2")
		ok(t, err, "GetResource")
		checkRecord(t, "GetResource", resource("r-2", "https://api.example.com/v1"), got)
		got, err = s.GetResourceByURI(ctx, "https://API.example.com/v1")
		ok(t, err, "GetResourceByURI")
		if got.ID != "r-3" {
			t.Errorf("GetResourceByURI is not exact: got %s, want r-3", got.ID)
		}
		_, err = s.GetResourceByURI(ctx, "https://notes.example.com/")
		wantErr(t, err, storage.ErrNotFound, "GetResourceByURI with a trailing slash")
		_, err = s.GetResource(ctx, "r-missing")
		wantErr(t, err, storage.ErrNotFound, "GetResource of a missing id")
		wantErr(t, s.CreateResource(ctx, resource("r-4", "https://notes.example.com")), storage.ErrConflict, "CreateResource of a taken URI")
		wantErr(t, s.CreateResource(ctx, resource("r-1", "https://other.example.com")), storage.ErrConflict, "CreateResource of a duplicate id")
		rs, err := s.ListResources(ctx)
		ok(t, err, "ListResources")
		orderedEqual(t, "ListResources", resourceURIs(rs),
			[]string{"https://API.example.com/v1", "https://api.example.com/v1", "https://notes.example.com"})
		if len(rs[0].Scopes) != 2 || rs[0].Scopes[0].Name != "read" || rs[0].Scopes[1].Name != "write" {
			t.Errorf("ListResources scopes = %+v, want read then write", rs[0].Scopes)
		}
	})

	t.Run("a resource without scopes reads back with none", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		r := resource("r-1", "https://notes.example.com")
		r.Scopes = nil
		ok(t, s.CreateResource(ctx, r), "CreateResource")
		got, err := s.GetResource(ctx, "r-1")
		ok(t, err, "GetResource")
		checkRecord(t, "GetResource without scopes", r, got)
	})

	t.Run("update replaces URI, name and scopes; a taken URI conflicts; delete", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateResource(ctx, resource("r-1", "https://notes.example.com")), "CreateResource r-1")
		ok(t, s.CreateResource(ctx, resource("r-2", "https://todo.example.com")), "CreateResource r-2")
		up := resource("r-1", "https://notes.example.com/v2")
		up.Name = "Notes v2"
		up.Scopes = []storage.ResourceScope{{Name: "admin", Description: "Manage everyone's notes"}}
		up.UpdatedAt = at(5)
		ok(t, s.UpdateResource(ctx, up), "UpdateResource")
		got, err := s.GetResource(ctx, "r-1")
		ok(t, err, "GetResource after update")
		checkRecord(t, "UpdateResource", up, got)
		_, err = s.GetResourceByURI(ctx, "https://notes.example.com")
		wantErr(t, err, storage.ErrNotFound, "old URI after update")

		clash := resource("r-2", "https://notes.example.com/v2")
		wantErr(t, s.UpdateResource(ctx, clash), storage.ErrConflict, "UpdateResource to another's URI")
		wantErr(t, s.UpdateResource(ctx, resource("r-9", "https://x.example.com")), storage.ErrNotFound, "UpdateResource of a missing id")

		ok(t, s.DeleteResource(ctx, "r-1"), "DeleteResource")
		wantErr(t, s.DeleteResource(ctx, "r-1"), storage.ErrNotFound, "second DeleteResource")
		_, err = s.GetResourceByURI(ctx, "https://notes.example.com/v2")
		wantErr(t, err, storage.ErrNotFound, "GetResourceByURI after delete")
		// The URI is free again.
		ok(t, s.CreateResource(ctx, resource("r-3", "https://notes.example.com/v2")), "re-create on a freed URI")
	})

	t.Run("a rolled-back transaction leaves no resource", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		boom := errors.New("boom")
		err := storage.InTx(ctx, s, func(ctx context.Context) error {
			if err := s.CreateResource(ctx, resource("r-1", "https://notes.example.com")); err != nil {
				return err
			}
			return boom
		})
		wantErr(t, err, boom, "InTx")
		_, err = s.GetResource(ctx, "r-1")
		wantErr(t, err, storage.ErrNotFound, "GetResource after rollback")
	})
}

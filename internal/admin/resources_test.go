package admin

import (
	"net/http"
	"testing"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
)

func TestResourceRoutes(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		var created app.ResourceView
		r := e.do(http.MethodPost, "/admin/resources", map[string]any{
			"uri": "https://notes.example.com", "name": "Notes",
			"scopes": []map[string]string{{"name": "notes:read", "description": "See your notes"}},
		}, http.StatusCreated)
		r.json(t, &created)
		if created.ID == "" || created.URI != "https://notes.example.com" || len(created.Scopes) != 1 ||
			created.Scopes[0].Description != "See your notes" || r.header.Get("Location") != "/admin/resources/"+created.ID {
			t.Fatalf("created %+v, Location %q", created, r.header.Get("Location"))
		}
		if got := e.do(http.MethodPost, "/admin/resources", map[string]any{"uri": "https://notes.example.com", "name": "Dup"},
			http.StatusConflict).apiErr(t); got.Code != "conflict" {
			t.Fatalf("duplicate URI: %+v", got)
		}
		before := e.snapshot()
		for name, body := range map[string]map[string]any{
			"scope without a description": {"uri": "https://a.example.com", "name": "A", "scopes": []map[string]string{{"name": "x"}}},
			"plain http":                  {"uri": "http://a.example.com", "name": "A"},
			"unknown field":               {"uri": "https://a.example.com", "name": "A", "owner": "me"},
		} {
			if got := e.do(http.MethodPost, "/admin/resources", body, http.StatusBadRequest).apiErr(t); got.Code == "" {
				t.Errorf("%s: error %+v", name, got)
			}
		}
		if after := e.snapshot(); after != before {
			t.Fatalf("refused requests changed something: %+v → %+v", before, after)
		}

		var patched app.ResourceView
		e.do(http.MethodPatch, "/admin/resources/"+created.ID, map[string]any{
			"name":   "My notes",
			"scopes": []map[string]any{{"name": "notes:read"}, {"name": "notes:write", "description": "Change your notes"}},
		}, http.StatusOK).json(t, &patched)
		if patched.Name != "My notes" || patched.URI != created.URI || len(patched.Scopes) != 2 ||
			patched.Scopes[0].Description != "See your notes" || patched.Scopes[1].Description != "Change your notes" {
			t.Fatalf("patched %+v", patched)
		}
		var got app.ResourceView
		e.do(http.MethodGet, "/admin/resources/"+created.ID, nil, http.StatusOK).json(t, &got)
		if got.Name != "My notes" || len(got.Scopes) != 2 {
			t.Fatalf("read back %+v", got)
		}
		var list page[app.ResourceView]
		e.do(http.MethodGet, "/admin/resources", nil, http.StatusOK).json(t, &list)
		if len(list.Items) != 1 || list.Items[0].ID != created.ID || list.NextCursor != "" {
			t.Fatalf("list %+v", list)
		}
		e.do(http.MethodDelete, "/admin/resources/"+created.ID, nil, http.StatusNoContent)
		e.do(http.MethodDelete, "/admin/resources/"+created.ID, nil, http.StatusNotFound)
		e.do(http.MethodGet, "/admin/resources/"+created.ID, nil, http.StatusNotFound)
		e.do(http.MethodPatch, "/admin/resources/nope", map[string]any{"name": "x"}, http.StatusNotFound)
	})
}

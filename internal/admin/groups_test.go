package admin

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
)

func TestGroupRoutes(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		u, err := e.svc.CreateUser(ctx, "cli", app.NewUser{Username: "dora", Password: "pw-long-enough"})
		if err != nil {
			t.Fatal(err)
		}

		var created app.GroupView
		r := e.do(http.MethodPost, "/admin/groups", map[string]any{"name": "Editors", "description": "edit pages"}, http.StatusCreated)
		r.json(t, &created)
		if created.ID == "" || created.Name != "Editors" || created.Description != "edit pages" || r.header.Get("Location") != "/admin/groups/"+created.ID {
			t.Fatalf("created %+v, Location %q", created, r.header.Get("Location"))
		}
		// Names are unique case-insensitively, like the CLI's.
		if got := e.do(http.MethodPost, "/admin/groups", map[string]any{"name": "editors"}, http.StatusConflict).apiErr(t); got.Code != "conflict" {
			t.Fatalf("duplicate: %+v", got)
		}

		// Add by username (201), again (200: nothing changes), read back by name.
		var g app.GroupView
		e.do(http.MethodPut, "/admin/groups/"+created.ID+"/members/dora", nil, http.StatusCreated).json(t, &g)
		if len(g.Members) != 1 || g.Members[0] != u.ID {
			t.Fatalf("after add: %+v", g)
		}
		e.do(http.MethodPut, "/admin/groups/Editors/members/"+u.ID, nil, http.StatusOK)
		e.do(http.MethodGet, "/admin/groups/editors", nil, http.StatusOK).json(t, &g)
		if g.ID != created.ID || len(g.Members) != 1 {
			t.Fatalf("get by name: %+v", g)
		}
		if names, err := e.svc.UserGroupNames(ctx, u.ID); err != nil || len(names) != 1 || names[0] != "Editors" {
			t.Fatalf("the groups claim source sees %v, %v", names, err)
		}

		var list page[app.GroupView]
		e.do(http.MethodGet, "/admin/groups", nil, http.StatusOK).json(t, &list)
		if len(list.Items) != 1 || list.Items[0].ID != created.ID || len(list.Items[0].Members) != 1 || list.NextCursor != "" {
			t.Fatalf("list %+v", list)
		}

		// Unknown ids are 404 and change nothing.
		before := e.snapshot()
		e.do(http.MethodGet, "/admin/groups/nope", nil, http.StatusNotFound)
		e.do(http.MethodPut, "/admin/groups/nope/members/dora", nil, http.StatusNotFound)
		e.do(http.MethodPut, "/admin/groups/Editors/members/nobody", nil, http.StatusNotFound)
		e.do(http.MethodDelete, "/admin/groups/nope", nil, http.StatusNotFound)
		if after := e.snapshot(); after != before {
			t.Fatalf("refused requests changed something: %+v -> %+v", before, after)
		}

		e.do(http.MethodDelete, "/admin/groups/Editors/members/dora", nil, http.StatusNoContent)
		e.do(http.MethodDelete, "/admin/groups/Editors/members/dora", nil, http.StatusNotFound)
		var emptied app.GroupView
		e.do(http.MethodGet, "/admin/groups/"+created.ID, nil, http.StatusOK).json(t, &emptied)
		if emptied.ID != created.ID || len(emptied.Members) != 0 {
			t.Fatalf("members after remove: %v", emptied.Members)
		}
		e.do(http.MethodDelete, "/admin/groups/"+created.ID, nil, http.StatusNoContent)
		e.do(http.MethodGet, "/admin/groups/"+created.ID, nil, http.StatusNotFound)
		e.do(http.MethodDelete, "/admin/groups/"+created.ID, nil, http.StatusNotFound)

		// Every change is audited with who and from where.
		evs, _, err := st.ListAudit(ctx, storage.AuditFilter{Limit: storage.MaxListLimit})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, ev := range evs {
			if !strings.HasPrefix(ev.Type, "group.") {
				continue
			}
			seen[ev.Type]++
			if ev.Actor != "admin:"+e.adminClientID || ev.IP != "127.0.0.1" || ev.UserAgent != testUA || ev.Details["group_id"] != created.ID {
				t.Fatalf("audit event without who/where/what: %+v", ev)
			}
		}
		// The second add changed nothing, so it is not audited.
		want := map[string]int{"group.created": 1, "group.member_added": 1, "group.member_removed": 1, "group.deleted": 1}
		for k, n := range want {
			if seen[k] != n {
				t.Fatalf("audit %v, want %v", seen, want)
			}
		}
	})
}

func TestGroupRoutesRefuseBadInput(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		_, other := e.clientToken("read")
		before := e.snapshot()
		for _, body := range []any{
			map[string]any{"name": ""},
			map[string]any{"name": "   "},
			map[string]any{"name": strings.Repeat("g", 151)},
			map[string]any{"name": "a\x00b"},
			map[string]any{"name": "ok", "description": strings.Repeat("d", 501)},
			map[string]any{"name": "ok", "members": []string{"x"}}, // unknown field
			map[string]any{"name": 5},
			"[]",
		} {
			if got := e.do(http.MethodPost, "/admin/groups", body, http.StatusBadRequest).apiErr(t); got.Code != "invalid_request" || got.Description == "" {
				t.Fatalf("%v: %+v", body, got)
			}
		}
		e.do(http.MethodPost, "/admin/groups", `{"name":"`+strings.Repeat("x", maxBodyBytes)+`"}`, http.StatusRequestEntityTooLarge)
		// Without the admin scope nothing is readable or writable.
		for _, tok := range []string{"", other} {
			if r := e.call(http.MethodGet, "/admin/groups", tok, nil); r.status != http.StatusUnauthorized && r.status != http.StatusForbidden {
				t.Fatalf("token %q: status %d", tok, r.status)
			}
			if r := e.call(http.MethodPost, "/admin/groups", tok, map[string]any{"name": "x"}); r.status != http.StatusUnauthorized && r.status != http.StatusForbidden {
				t.Fatalf("token %q: status %d", tok, r.status)
			}
		}
		if after := e.snapshot(); after != before {
			t.Fatalf("refused requests changed something: %+v -> %+v", before, after)
		}
		if gs, err := st.ListGroups(context.Background()); err != nil || len(gs) != 0 {
			t.Fatalf("groups after refused requests: %v, %v", gs, err)
		}
	})
}

// TestUserTokensRoute: personal tokens and imported DRF keys are listed
// with their client and kind, never their values, and vanish once revoked.
func TestUserTokensRoute(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		if _, err := e.svc.CreateUser(ctx, "cli", app.NewUser{Username: "tess", Password: "pw-long-enough"}); err != nil {
			t.Fatal(err)
		}
		u, _ := e.svc.GetUser(ctx, "tess")
		var empty page[app.TokenView]
		e.do(http.MethodGet, "/admin/users/tess/tokens", nil, http.StatusOK).json(t, &empty)
		if len(empty.Items) != 0 {
			t.Fatalf("tokens before any: %+v", empty.Items)
		}
		cl, _, err := e.svc.CreateClient(ctx, "cli", app.ClientSpec{Name: "api", GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}})
		if err != nil {
			t.Fatal(err)
		}
		tok, exp, err := e.oauth.IssuePersonalToken(ctx, u.ID, cl.ID, []string{"read"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		const drfKey = "0123456789abcdef0123456789abcdef01234567"
		if created, err := e.oauth.ImportDRFToken(ctx, drfKey, u.ID, cl.ID, nil, time.Now().Add(-time.Hour)); err != nil || !created {
			t.Fatalf("import DRF token: %v %v", created, err)
		}
		r := e.do(http.MethodGet, "/admin/users/"+u.ID+"/tokens", nil, http.StatusOK)
		if strings.Contains(string(r.body), tok) || strings.Contains(string(r.body), drfKey) {
			t.Fatalf("a token value is in the listing: %s", r.body)
		}
		var got page[app.TokenView]
		r.json(t, &got)
		if len(got.Items) != 2 {
			t.Fatalf("tokens %+v, want the personal and the DRF token", got.Items)
		}
		for _, v := range got.Items {
			if v.ClientID != cl.ID || v.Kind != "personal_token" || v.CreatedAt.IsZero() || !v.ExpiresAt.After(time.Now()) {
				t.Fatalf("token view %+v", v)
			}
		}
		if scopes := got.Items[0].Scope + "|" + got.Items[1].Scope; scopes != "read|" && scopes != "|read" {
			t.Fatalf("scopes %q", scopes)
		}
		if !got.Items[0].ExpiresAt.Equal(exp.UTC()) && !got.Items[1].ExpiresAt.Equal(exp.UTC()) {
			t.Fatalf("no token expires at the issued %v: %+v", exp, got.Items)
		}
		if _, err := e.svc.RevokeForUser(ctx, "cli", "tess"); err != nil {
			t.Fatal(err)
		}
		var after page[app.TokenView]
		e.do(http.MethodGet, "/admin/users/tess/tokens", nil, http.StatusOK).json(t, &after)
		if len(after.Items) != 0 {
			t.Fatalf("revoked tokens still listed: %+v", after.Items)
		}
		e.do(http.MethodGet, "/admin/users/nobody/tokens", nil, http.StatusNotFound)
		if r := e.call(http.MethodGet, "/admin/users/tess/tokens", "", nil); r.status != http.StatusUnauthorized {
			t.Fatalf("without a token: %d", r.status)
		}
	})
}

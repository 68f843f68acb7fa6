package admin

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
)

// lockThrough locks key the way wrong credentials do: failures recorded
// through the guard until it reports the key locked. The returned guard
// checks the lock afterwards.
func lockThrough(t *testing.T, st storage.Store, key string) *throttle.Guard {
	t.Helper()
	ctx := context.Background()
	cfg := throttle.DefaultConfig()
	cfg.MaxFailures = 2
	g := throttle.New(st, st, cfg, nil)
	for range cfg.MaxFailures {
		if err := g.Fail(ctx, "", "", key); err != nil {
			t.Fatal(err)
		}
	}
	if _, locked, err := g.Check(ctx, key); err != nil || !locked {
		t.Fatalf("%s not locked after %d failures (err %v)", key, cfg.MaxFailures, err)
	}
	return g
}

// unlockEvents are the auth.unlocked audit events, newest first.
func unlockEvents(t *testing.T, st storage.Store) []storage.AuditEvent {
	t.Helper()
	ev, _, err := st.ListAudit(context.Background(), storage.AuditFilter{Type: app.AuditUnlocked, Limit: storage.MaxListLimit})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestUnlockRoutes(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		u, err := e.svc.CreateUser(ctx, "cli", app.NewUser{Username: "Alice", Password: "pw-long-enough"})
		if err != nil {
			t.Fatal(err)
		}
		cl, _, err := e.svc.CreateClient(ctx, "cli", app.ClientSpec{Name: "svc", GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}})
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name             string
			key              string
			path             string
			userID, clientID string
		}{
			{"user by id", throttle.UserKey(u.Username), "/admin/users/" + u.ID + "/unlock", u.ID, ""},
			{"user by username, any case", throttle.UserKey(u.Username), "/admin/users/ALICE/unlock", u.ID, ""},
			{"client", throttle.ClientKey(cl.ID), "/admin/clients/" + cl.ID + "/unlock", "", cl.ID},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				g := lockThrough(t, st, tc.key)
				before := len(unlockEvents(t, st))
				r := e.do(http.MethodPost, tc.path, nil, http.StatusOK)
				if tc.userID != "" {
					var v app.UserView
					r.json(t, &v)
					if v.ID != tc.userID || v.Username != u.Username {
						t.Fatalf("answered %+v, want user %s", v, tc.userID)
					}
				} else {
					var v app.ClientView
					r.json(t, &v)
					if v.ClientID != tc.clientID || v.ClientSecret != "" {
						t.Fatalf("answered %+v, want client %s without its secret", v, tc.clientID)
					}
				}
				if _, locked, err := g.Check(ctx, tc.key); err != nil || locked {
					t.Fatalf("still locked after unlock (err %v)", err)
				}
				if _, err := st.GetFailures(ctx, tc.key); !errors.Is(err, storage.ErrNotFound) {
					t.Fatalf("failure counter kept after unlock: %v", err)
				}
				ev := unlockEvents(t, st)
				if len(ev) != before+1 {
					t.Fatalf("%d %s events written, want 1", len(ev)-before, app.AuditUnlocked)
				}
				if got := ev[0]; got.Actor != "admin:"+e.adminClientID || got.UserID != tc.userID || got.ClientID != tc.clientID ||
					got.Details["key"] != tc.key || got.Outcome != "success" || got.UserAgent != testUA || got.IP == "" {
					t.Fatalf("audit event %+v", got)
				}
			})
		}
	})
}

func TestUnlockRoutesRefuseUnknownAndUnauthorized(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		_, otherToken := e.clientToken("read:things")
		u, err := e.svc.CreateUser(ctx, "cli", app.NewUser{Username: "bob", Password: "pw-long-enough"})
		if err != nil {
			t.Fatal(err)
		}
		userKey, clientKey := throttle.UserKey(u.Username), throttle.ClientKey(e.adminClientID)
		userGuard, clientGuard := lockThrough(t, st, userKey), lockThrough(t, st, clientKey)
		userPath, clientPath := "/admin/users/"+u.ID+"/unlock", "/admin/clients/"+e.adminClientID+"/unlock"
		tests := []struct {
			name     string
			path     string
			token    string
			status   int
			wantCode string
		}{
			{"unknown user", "/admin/users/nobody/unlock", e.adminToken, http.StatusNotFound, "not_found"},
			{"unknown client", "/admin/clients/no-such-client/unlock", e.adminToken, http.StatusNotFound, "not_found"},
			{"user without a token", userPath, "", http.StatusUnauthorized, "invalid_token"},
			{"user without sesame:admin", userPath, otherToken, http.StatusForbidden, "insufficient_scope"},
			{"client without a token", clientPath, "", http.StatusUnauthorized, "invalid_token"},
			{"client without sesame:admin", clientPath, otherToken, http.StatusForbidden, "insufficient_scope"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := e.snapshot()
				r := e.call(http.MethodPost, tc.path, tc.token, nil)
				if r.status != tc.status {
					t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
				}
				if got := r.apiErr(t); got.Code != tc.wantCode || got.Description == "" {
					t.Fatalf("error %+v, want %s with a description", got, tc.wantCode)
				}
				if after := e.snapshot(); after != before {
					t.Fatalf("a refused unlock changed the store: %+v -> %+v", before, after)
				}
			})
		}
		for key, g := range map[string]*throttle.Guard{userKey: userGuard, clientKey: clientGuard} {
			if _, locked, err := g.Check(ctx, key); err != nil || !locked {
				t.Errorf("%s unlocked by a refused request (err %v)", key, err)
			}
		}
		if ev := unlockEvents(t, st); len(ev) != 0 {
			t.Fatalf("refused unlocks wrote %d %s events", len(ev), app.AuditUnlocked)
		}
	})
}

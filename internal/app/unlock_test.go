package app

import (
	"context"
	"errors"
	"testing"

	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
)

// lockThrough locks key the way wrong passwords do: through the guard,
// until it reports the key locked.
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

func TestUnlockUserAndClient(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		svc := newService(t, st)
		u, err := svc.CreateUser(ctx, "test", NewUser{Username: "Alice", Password: "pw-long-enough"})
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := svc.CreateClient(ctx, "test", ClientSpec{Name: "svc", GrantTypes: []string{"client_credentials"}})
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name             string
			key              string
			unlock           func() error
			userID, clientID string
		}{
			{"user by id", throttle.UserKey("alice"), func() error {
				got, err := svc.UnlockUser(ctx, "admin:ops", u.ID)
				if err == nil && got.ID != u.ID {
					t.Errorf("returned user %q, want %q", got.ID, u.ID)
				}
				return err
			}, u.ID, ""},
			{"user by username, any case", throttle.UserKey("alice"), func() error {
				_, err := svc.UnlockUser(ctx, "admin:ops", "ALICE")
				return err
			}, u.ID, ""},
			{"client", throttle.ClientKey(c.ID), func() error {
				got, err := svc.UnlockClient(ctx, "admin:ops", c.ID)
				if err == nil && got.ID != c.ID {
					t.Errorf("returned client %q, want %q", got.ID, c.ID)
				}
				return err
			}, "", c.ID},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				g := lockThrough(t, st, tc.key)
				before := countAudit(t, st)
				if err := tc.unlock(); err != nil {
					t.Fatal(err)
				}
				if _, locked, err := g.Check(ctx, tc.key); err != nil || locked {
					t.Fatalf("still locked after unlock (err %v)", err)
				}
				if _, err := st.GetFailures(ctx, tc.key); !errors.Is(err, storage.ErrNotFound) {
					t.Fatalf("counter kept after unlock: %v", err)
				}
				if n := countAudit(t, st); n != before+1 {
					t.Fatalf("%d audit events written, want 1", n-before)
				}
				ev, _, err := st.ListAudit(ctx, storage.AuditFilter{Type: AuditUnlocked, Limit: 1})
				if err != nil || len(ev) != 1 {
					t.Fatalf("no %s event: %v", AuditUnlocked, err)
				}
				if e := ev[0]; e.Actor != "admin:ops" || e.UserID != tc.userID || e.ClientID != tc.clientID ||
					e.Details["key"] != tc.key || e.Outcome != "success" {
					t.Fatalf("event %+v", e)
				}
			})
		}
	})
}

func TestUnlockUnknownIsNotFoundAndWritesNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		svc := newService(t, st)
		// A lock on a name without an account stays: the use case unlocks
		// accounts, not arbitrary strings.
		g := lockThrough(t, st, throttle.UserKey("ghost"))
		if _, err := svc.UnlockUser(ctx, "admin:ops", "ghost"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("unknown user: %v, want ErrNotFound", err)
		}
		if _, err := svc.UnlockClient(ctx, "admin:ops", "no-such-client"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("unknown client: %v, want ErrNotFound", err)
		}
		if _, locked, _ := g.Check(ctx, throttle.UserKey("ghost")); !locked {
			t.Fatal("a failed unlock cleared the counter")
		}
		ev, _, err := st.ListAudit(ctx, storage.AuditFilter{Type: AuditUnlocked, Limit: 10})
		if err != nil || len(ev) != 0 {
			t.Fatalf("audit %v %+v, want no %s event", err, ev, AuditUnlocked)
		}
	})
}

package main

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/dial"
)

// lockKey puts a live brute-force lock on key, as repeated failures would.
func lockKey(t *testing.T, databaseURL, key string) {
	t.Helper()
	ctx := context.Background()
	st := openStore(t, databaseURL)
	defer st.Close()
	now := time.Now()
	if _, err := st.RecordFailure(ctx, key, now, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.SetLock(ctx, key, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
}

func counterExists(t *testing.T, databaseURL, key string) bool {
	t.Helper()
	ctx := context.Background()
	st := openStore(t, databaseURL)
	defer st.Close()
	_, err := st.GetFailures(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func TestUnlockUsersAndClients(t *testing.T) {
	url := "sqlite:" + filepath.Join(t.TempDir(), "sesame.db")
	c := newCLI(t, url)
	c.ok("correct horse\n", "users", "create", "Alice", "--password-stdin")

	tests := []struct {
		name string
		key  string
		args []string
		want string
	}{
		{"existing user by name, any case", throttle.UserKey("alice"), []string{"users", "unlock", "ALICE"}, "user Alice unlocked\n"},
		{"username without an account", throttle.UserKey("ghost"), []string{"users", "unlock", "ghost"}, "user ghost unlocked\n"},
		{"client id", throttle.ClientKey("svc-1"), []string{"clients", "unlock", "svc-1"}, "client svc-1 unlocked\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lockKey(t, url, tc.key)
			if out := c.ok("", tc.args...); out != tc.want {
				t.Fatalf("stdout %q, want %q", out, tc.want)
			}
			if counterExists(t, url, tc.key) {
				t.Fatalf("counter %s still present after unlock", tc.key)
			}
		})
	}
	var events list[struct {
		Type    string            `json:"type"`
		Actor   string            `json:"actor"`
		Details map[string]string `json:"details"`
	}]
	c.json(&events, "", "audit", "list", "--type", app.AuditUnlocked, "--json")
	if len(events.Items) != len(tests) {
		t.Fatalf("%d auth.unlocked events, want %d: %+v", len(events.Items), len(tests), events.Items)
	}
	for _, ev := range events.Items {
		if ev.Actor != "cli" || ev.Details["key"] == "" {
			t.Errorf("event %+v: want actor cli and the unlocked key", ev)
		}
	}
}

// openStore opens the CLI's database for a test to seed or inspect it; the
// caller closes it (before the next CLI run, which opens it too).
func openStore(t *testing.T, databaseURL string) storage.Store {
	t.Helper()
	st, _, err := dial.Open(context.Background(), databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

package app

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/storage"
)

// TestPasswordPolicy covers the one policy every place that sets a
// password goes through (CLI, admin API, account page, reset, sign-up).
func TestPasswordPolicy(t *testing.T) {
	svc := New(nil, nil, fastParams, nil)
	for _, tc := range []struct {
		name, user, pw string
		reason         string // "" = accepted
	}{
		{"long and uncommon", "alice", "violet-kettle-42", ""},
		{"empty", "alice", "", "must not be empty"},
		{"too short", "alice", "v-k-42", "at least 8"},
		{"too long", "alice", strings.Repeat("x", 1025), "at most"},
		{"the username", "Alice.Smith", " alice.smith ", "username"},
		{"common", "alice", "password1", "most common"},
		{"common in capitals", "alice", "QWERTY123", "most common"},
		{"common with spaces", "alice", "  iloveyou  ", "most common"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := svc.CheckPassword(tc.user, tc.pw)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != "password" || !strings.Contains(ve.Reason, tc.reason) {
				t.Fatalf("CheckPassword(%q) = %v, want a password error saying %q", tc.pw, err, tc.reason)
			}
		})
	}
}

// TestCommonPasswordRefusedEverywhere: creating a user and setting a
// password refuse a common one and write nothing.
func TestCommonPasswordRefusedEverywhere(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		svc := newService(t, st)
		var ve *ValidationError
		if _, err := svc.CreateUser(ctx, "cli", NewUser{Username: "bob", Password: "Sunshine1"}); !errors.As(err, &ve) || ve.Field != "password" {
			t.Fatalf("CreateUser with a common password = %v", err)
		}
		if n := countUsers(t, st); n != 0 {
			t.Fatalf("%d users written", n)
		}
		u, err := svc.CreateUser(ctx, "cli", NewUser{Username: "bob", Password: "violet-kettle-42"})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.SetPassword(ctx, "cli", "bob", "football"); !errors.As(err, &ve) {
			t.Fatalf("SetPassword with a common password = %v", err)
		}
		if err := svc.ChangeOwnPassword(ctx, u.ID, "Princess1"); !errors.As(err, &ve) {
			t.Fatalf("ChangeOwnPassword with a common password = %v", err)
		}
		got, _ := st.GetUser(ctx, u.ID)
		if got.PasswordHash != u.PasswordHash {
			t.Fatal("a refused password replaced the hash")
		}
	})
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage/sqlite"
)

// runInProcess executes a command line in this process. It wires the
// registration-token command under `clients` when the command tree does
// not have it yet, so the test does not depend on that one line.
func runInProcess(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}
	defer e.close()
	root := newRootCmd(e)
	for _, c := range root.Commands() {
		if c.Name() == "clients" && !hasSub(c, "registration-token") {
			c.AddCommand(newClientsRegistrationTokenCmd(e))
		}
	}
	root.SetArgs(args)
	if err := root.ExecuteContext(context.Background()); err != nil {
		return out.String(), errb.String() + err.Error(), exitCode(e, err)
	}
	return out.String(), errb.String(), 0
}

func hasSub(c *cobra.Command, name string) bool {
	for _, s := range c.Commands() {
		if s.Name() == name {
			return true
		}
	}
	return false
}

func TestRegistrationTokenCreate(t *testing.T) {
	db := filepath.Join(t.TempDir(), "sesame.db")
	t.Setenv("SESAME_DATABASE_URL", "sqlite:"+db)
	t.Setenv("SESAME_SECRET", "cli-test-secret-0123456789abcdef0123456789")

	out, errOut, code := runInProcess(t, "clients", "registration-token", "create", "--expires-in", "48h", "--max-uses", "3", "--description", "partner", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var v struct {
		ID        string    `json:"id"`
		Token     string    `json:"token"`
		MaxUses   int       `json:"max_uses"`
		CreatedAt time.Time `json:"created_at"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	if !strings.HasPrefix(v.Token, "sesame_iat_") || v.MaxUses != 3 || v.ExpiresAt.Sub(v.CreatedAt) != 48*time.Hour || v.ID != secret.HashToken(v.Token) {
		t.Fatalf("token %+v", v)
	}

	out, _, code = runInProcess(t, "clients", "registration-token", "create")
	if code != 0 || !strings.Contains(out, "sesame_iat_") || !strings.Contains(out, "unlimited") {
		t.Fatalf("table output (exit %d): %s", code, out)
	}

	for _, bad := range []struct {
		name string
		args []string
		want string
	}{
		{"negative uses", []string{"--max-uses", "-1"}, "--max-uses"},
		{"zero lifetime", []string{"--expires-in", "0s"}, "--expires-in"},
		{"lifetime over a year", []string{"--expires-in", "10000h"}, "expires_in"},
		{"not a duration", []string{"--expires-in", "soon"}, "expires-in"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			_, errOut, code := runInProcess(t, append([]string{"clients", "registration-token", "create"}, bad.args...)...)
			if code != 1 || !strings.Contains(errOut, bad.want) {
				t.Fatalf("exit %d, stderr %q; want 1 naming %s", code, errOut, bad.want)
			}
		})
	}

	// Only the hashes are stored, one per successful create.
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ts, err := st.ListRegistrationTokens(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 {
		t.Fatalf("%d tokens stored, want 2", len(ts))
	}
	for _, rt := range ts {
		if strings.HasPrefix(rt.ID, "sesame_iat_") {
			t.Fatal("a clear token was stored")
		}
	}
}

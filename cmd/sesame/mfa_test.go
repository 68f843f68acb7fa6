package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
)

// seedFactors gives userID a confirmed TOTP factor, a passkey and
// recovery codes directly in the store (what enrolment on the web would
// leave behind; the CLI never sees a secret).
func seedFactors(t *testing.T, databaseURL, userID string) {
	t.Helper()
	ctx := context.Background()
	st := openStore(t, databaseURL)
	defer st.Close()
	now := time.Now()
	for _, f := range []storage.Factor{
		{ID: "f-totp", UserID: userID, Kind: storage.FactorTOTP, Secret: []byte("sealed-secret-bytes"), Confirmed: true, Counter: 5, CreatedAt: now},
		{ID: "f-key", UserID: userID, Kind: storage.FactorWebAuthn, Name: "YubiKey", Secret: []byte(`{"public":"key"}`), CredentialID: "cred-" + userID, Confirmed: true, CreatedAt: now.Add(time.Second)},
	} {
		if err := st.CreateFactor(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.ReplaceRecoveryCodes(ctx, userID, []string{"h1", "h2"}, now); err != nil {
		t.Fatal(err)
	}
}

func TestUsersMFAResetAndRequireMFAClients(t *testing.T) {
	backends(t, func(t *testing.T, c *cli) {
		var u userJSON
		c.json(&u, "correct horse\n", "users", "create", "alice", "--password-stdin", "--json")
		url := ""
		for _, kv := range c.env {
			if v, ok := strings.CutPrefix(kv, "SESAME_DATABASE_URL="); ok {
				url = v
			}
		}
		seedFactors(t, url, u.ID)

		var got app.UserView
		out := c.ok("", "users", "get", "alice", "--json")
		c.json(&got, "", "users", "get", "alice", "--json")
		if len(got.Factors) != 2 || got.Factors[0].Kind != "totp" || got.Factors[1].Name != "YubiKey" {
			t.Fatalf("users get --json factors = %+v", got.Factors)
		}
		if strings.Contains(out, "sealed-secret") || strings.Contains(out, "public") || strings.Contains(out, "secret") {
			t.Fatalf("users get --json shows factor secrets:\n%s", out)
		}
		if table := c.ok("", "users", "get", "alice"); !strings.Contains(table, "totp, webauthn (YubiKey)") {
			t.Errorf("users get table lacks the factors:\n%s", table)
		}

		var reset struct {
			Removed int `json:"removed"`
		}
		c.json(&reset, "", "users", "mfa", "reset", "alice", "--json")
		if reset.Removed != 2 {
			t.Fatalf("mfa reset removed %d, want 2", reset.Removed)
		}
		got = app.UserView{}
		c.json(&got, "", "users", "get", "alice", "--json")
		if len(got.Factors) != 0 || got.Username != "alice" {
			t.Fatalf("factors after reset: %+v", got.Factors)
		}
		if out := c.ok("", "users", "mfa", "reset", "alice"); !strings.Contains(out, "second factors of alice reset (0 removed)") {
			t.Errorf("second reset: %q", out)
		}
		if audit := c.ok("", "audit", "list", "--type", app.AuditMFAReset, "--json"); strings.Count(audit, app.AuditMFAReset) < 2 {
			t.Errorf("mfa.reset not audited twice:\n%s", audit)
		}
		c.fails(1, "not found", "", "users", "mfa", "reset", "nobody")

		var cl struct {
			ClientID   string `json:"client_id"`
			RequireMFA bool   `json:"require_mfa"`
		}
		c.json(&cl, "", "clients", "create", "--name", "strict", "--redirect-uris", "https://strict.example.com/cb",
			"--scopes", "openid", "--require-mfa", "--json")
		if !cl.RequireMFA {
			t.Fatalf("clients create --require-mfa: %+v", cl)
		}
		c.json(&cl, "", "clients", "update", cl.ClientID, "--require-mfa=false", "--json")
		if cl.RequireMFA {
			t.Fatalf("clients update --require-mfa=false left it on")
		}
	})
}

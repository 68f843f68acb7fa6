package main

import (
	"strings"
	"testing"
)

// TestTokenExchangeClient (issue 18): --token-exchange-audiences sets the
// per-client token exchange policy (RFC 8693) on create, changes it on
// update, shows it in get, and a bad value is one stderr line.
func TestTokenExchangeClient(t *testing.T) {
	backends(t, func(t *testing.T, c *cli) {
		const grant = "urn:ietf:params:oauth:grant-type:token-exchange"
		var svc clientJSON
		c.json(&svc, "", "clients", "create", "--name", "Backend", "--grant-types", grant,
			"--token-exchange-audiences", "https://api.example.com urn:backend", "--json")
		if strings.Join(svc.Exchange, " ") != "https://api.example.com urn:backend" || strings.Join(svc.GrantTypes, ",") != grant {
			t.Fatalf("created %+v", svc)
		}
		c.ok("", "clients", "update", svc.ClientID, "--token-exchange-audiences", "urn:backend")
		var got clientJSON
		c.json(&got, "", "clients", "get", svc.ClientID, "--json")
		if strings.Join(got.Exchange, " ") != "urn:backend" {
			t.Fatalf("after update: %v", got.Exchange)
		}
		if out := c.ok("", "clients", "get", svc.ClientID); !strings.Contains(out, "urn:backend") {
			t.Fatalf("clients get does not show the policy:\n%s", out)
		}
		c.fails(1, "token_exchange_audiences[0]", "", "clients", "update", svc.ClientID, "--token-exchange-audiences", "bad\"aud")
		c.fails(1, "not allowed for public clients", "", "clients", "create", "--name", "SPA", "--public",
			"--grant-types", grant)
	})
}

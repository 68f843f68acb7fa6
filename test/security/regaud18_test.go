package security

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/sesameauth/sesame/internal/config"
	"github.com/sesameauth/sesame/storage"
)

// SESAME_REGISTRATION_AUDIENCES (issue 18, MCP): a client that registers
// itself (RFC 7591) may ask for the APIs the operator named, and for no
// other; without the setting it may ask for none.
func TestRegistrationAudiences(t *testing.T) {
	const mcpAPI = "https://mcp.example.com/mcp"
	register := func(t *testing.T, s *srv) storage.Client {
		t.Helper()
		b, _ := json.Marshal(map[string]any{"redirect_uris": []string{"http://127.0.0.1:5555/cb"}, "client_name": "agent",
			"grant_types": []string{"authorization_code"}, "token_endpoint_auth_method": "none", "scope": "mcp:read"})
		req, _ := http.NewRequest(http.MethodPost, s.issuer+"/oauth2/register", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		reg := s.do(req)
		if reg.status != http.StatusCreated {
			t.Fatalf("register: %d %s", reg.status, reg.body)
		}
		c, err := s.s.App.GetClient(s.ctx, reg.str("client_id"))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	authorize := func(t *testing.T, s *srv, c storage.Client, res string) string {
		a := newAuthz(t, c, "mcp:read")
		a.extra["resource"] = []string{res}
		u := location(t, s.browser().get(a.path()))
		if e := u.Query().Get("error"); e != "" {
			return e
		}
		return u.Path
	}
	backends(t, func(c *config.Config) {
		c.OpenRegistration = true
		c.RegistrationAudiences = mcpAPI
	}, func(t *testing.T, s *srv) {
		s.resource(mcpAPI, "Notes MCP", map[string]string{"mcp:read": "Read your notes"})
		s.resource(otherAPI, "Other", map[string]string{"mcp:read": "Read other things"})
		c := register(t, s)
		if !slices.Equal(c.Audience, []string{mcpAPI}) {
			t.Fatalf("registered client's audience %v, want [%s]", c.Audience, mcpAPI)
		}
		if got := authorize(t, s, c, mcpAPI); got != "/login" {
			t.Fatalf("authorize for the named API: %s, want the login page", got)
		}
		if got := authorize(t, s, c, otherAPI); got != "invalid_target" {
			t.Fatalf("authorize for another API: %s, want invalid_target", got)
		}
	})
	t.Run("unset", func(t *testing.T) {
		s := newServer(t, func(c *config.Config) { c.OpenRegistration = true })
		s.resource(mcpAPI, "Notes MCP", map[string]string{"mcp:read": "Read your notes"})
		c := register(t, s)
		if len(c.Audience) != 0 {
			t.Fatalf("audience %v without the setting", c.Audience)
		}
		if got := authorize(t, s, c, mcpAPI); got != "invalid_target" {
			t.Fatalf("authorize: %s, want invalid_target", got)
		}
	})
}

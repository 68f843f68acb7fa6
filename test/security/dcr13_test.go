package security

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/config"
)

// TestSelfRegisteredClientTrust (issue 13 item 6): after an administrator
// set skip_consent and an audience on a dynamically registered client, the
// client could PUT itself new scopes, grant types and redirect URIs and
// keep both. Now a self-update that widens any of them drops that trust;
// the RFC 7592 registration access token is rotated on every read and
// update (the old one stops working), and an administrator can revoke it.
func TestSelfRegisteredClientTrust(t *testing.T) {
	backends(t, func(c *config.Config) { c.OpenRegistration = true }, func(t *testing.T, s *srv) {
		call := func(method, path, bearer string, body any) resp {
			t.Helper()
			var rd *bytes.Reader
			if body != nil {
				b, _ := json.Marshal(body)
				rd = bytes.NewReader(b)
			} else {
				rd = bytes.NewReader(nil)
			}
			req, _ := http.NewRequest(method, s.issuer+path, rd)
			req.Header.Set("Content-Type", "application/json")
			if bearer != "" {
				req.Header.Set("Authorization", "Bearer "+bearer)
			}
			return s.do(req)
		}
		meta := map[string]any{"redirect_uris": []string{"https://c.example.com/cb"}, "client_name": "c",
			"grant_types": []string{"authorization_code"}, "scope": "openid"}
		reg := call(http.MethodPost, "/oauth2/register", "", meta)
		if reg.status != http.StatusCreated {
			t.Fatalf("register: %d %s", reg.status, reg.body)
		}
		id, tok := reg.str("client_id"), reg.str("registration_access_token")
		regPath := "/oauth2/register/" + id

		// The administrator trusts the client as registered.
		trust := func() {
			skip, aud := true, []string{"https://api.example.com"}
			if _, _, err := s.s.App.UpdateClient(s.ctx, "admin", id, app.ClientPatch{SkipConsent: &skip, Audience: &aud}); err != nil {
				t.Fatal(err)
			}
		}
		trusted := func() bool {
			c, err := s.s.App.GetClient(s.ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return c.SkipConsent && len(c.Audience) == 1
		}
		trust()

		// Reads rotate the token.
		r := call(http.MethodGet, regPath, tok, nil)
		if r.status != http.StatusOK || r.str("registration_access_token") == "" || r.str("registration_access_token") == tok {
			t.Fatalf("read: %d, want a new registration_access_token: %s", r.status, r.body)
		}
		if old := call(http.MethodGet, regPath, tok, nil); old.status != http.StatusUnauthorized {
			t.Fatalf("the token used for a read still works: %d", old.status)
		}
		tok = r.str("registration_access_token")

		// An update that changes nothing it is allowed keeps the trust.
		same := map[string]any{"client_id": id, "redirect_uris": []string{"https://c.example.com/cb"}, "client_name": "c2",
			"grant_types": []string{"authorization_code"}, "scope": "openid"}
		r = call(http.MethodPut, regPath, tok, same)
		if r.status != http.StatusOK {
			t.Fatalf("update: %d %s", r.status, r.body)
		}
		if !trusted() {
			t.Fatal("a non-widening update dropped the administrator's trust")
		}
		tok = r.str("registration_access_token")

		for _, tc := range []struct {
			name string
			key  string
			v    any
		}{
			{"wider scope", "scope", "openid profile email"},
			{"new redirect URI", "redirect_uris", []string{"https://c.example.com/cb", "https://evil.example.com/cb"}},
			{"new grant type", "grant_types", []string{"authorization_code", "refresh_token"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				trust()
				wide := map[string]any{}
				for k, v := range same {
					wide[k] = v
				}
				wide[tc.key] = tc.v
				r := call(http.MethodPut, regPath, tok, wide)
				if r.status != http.StatusOK {
					t.Fatalf("update: %d %s", r.status, r.body)
				}
				if trusted() {
					t.Fatal("the client widened itself and kept skip_consent and its audience")
				}
				if old := call(http.MethodGet, regPath, tok, nil); old.status != http.StatusUnauthorized {
					t.Fatalf("the token used for an update still works: %d", old.status)
				}
				tok = r.str("registration_access_token")
			})
		}

		// An administrator revokes the token through the admin API.
		adm, admsec := s.client(app.ClientSpec{Name: "admin", GrantTypes: []string{"client_credentials"}, Scopes: []string{"sesame:admin"}})
		at := s.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"sesame:admin"}}, adm.ID, admsec)
		wantTokens(t, at)
		if r := call(http.MethodDelete, "/admin/clients/"+id+"/registration-token", at.str("access_token"), nil); r.status != http.StatusOK {
			t.Fatalf("admin revoke: %d %s", r.status, r.body)
		}
		if r := call(http.MethodGet, regPath, tok, nil); r.status != http.StatusUnauthorized {
			t.Fatalf("revoked registration token still works: %d", r.status)
		}
	})
}

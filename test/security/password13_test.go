package security

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/config"
)

// TestPasswordChangeRevokesAccess (issue 13 item 7): the account page said
// "other devices have been signed out" after a password change, but
// refresh tokens kept working. Now every kind of password change — the
// account page, the admin API and the CLI's use case (app.SetPassword,
// which `sesame users set-password` runs) — revokes the user's grants
// (refresh tokens, access tokens, codes) and other browser sessions; the
// browser that changed its own password stays signed in.
func TestPasswordChangeRevokesAccess(t *testing.T) {
	backends(t, nil, func(t *testing.T, s *srv) {
		pw := "correct horse battery"
		u := s.user("alice", pw)
		c, sec := s.webClient("notes", true)
		adm, admsec := s.client(app.ClientSpec{Name: "admin", GrantTypes: []string{"client_credentials"}, Scopes: []string{"sesame:admin"}})
		at := s.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"sesame:admin"}}, adm.ID, admsec)
		wantTokens(t, at)

		// signedIn returns a browser with a session and a refresh token
		// it obtained through the authorization code flow.
		signedIn := func(s *srv) (*browser, string) {
			b := s.browser()
			az := newAuthz(s.t, c, "openid offline_access")
			r := s.exchange(az, b.code(az, "alice", pw), c.ID, sec)
			wantTokens(s.t, r)
			return b, r.str("refresh_token")
		}
		refreshWorks := func(s *srv, rt string) bool {
			return s.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, c.ID, sec).status == http.StatusOK
		}
		hasSession := func(b *browser) bool { return b.get("/account").status == http.StatusOK }

		changes := []struct {
			name     string
			change   func(t *testing.T, b *browser, next string)
			keepsOwn bool
		}{
			{"account page", func(t *testing.T, b *browser, next string) {
				_, csrf := formOf(t, b.get("/account").body)
				r := b.post("/account/password", url.Values{"current_password": {pw}, "new_password": {next}, "csrf_token": {csrf}})
				if r.status != http.StatusSeeOther {
					t.Fatalf("password change on /account: %d %s", r.status, r.body)
				}
			}, true},
			{"admin API", func(t *testing.T, _ *browser, next string) {
				body, _ := json.Marshal(map[string]string{"password": next})
				req, _ := http.NewRequest(http.MethodPut, s.issuer+"/admin/users/"+u.ID+"/password", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+at.str("access_token"))
				req.Header.Set("Content-Type", "application/json")
				if r := s.with(t).do(req); r.status != http.StatusNoContent {
					t.Fatalf("admin set password: %d %s", r.status, r.body)
				}
			}, false},
			{"CLI (app.SetPassword)", func(t *testing.T, _ *browser, next string) {
				if err := s.s.App.SetPassword(s.ctx, "cli", "alice", next); err != nil {
					t.Fatal(err)
				}
			}, false},
		}
		for i, ch := range changes {
			t.Run(ch.name, func(t *testing.T) {
				s := s.with(t)
				own, rt := signedIn(s)
				other, otherRT := signedIn(s)
				if !refreshWorks(s, rt) {
					t.Fatal("refresh before the change failed")
				}
				_, rt = signedIn(s) // the refresh above rotated rt
				next := "new password " + strings.Repeat("!", i+1)
				ch.change(t, own, next)
				pw = next
				if refreshWorks(s, rt) || refreshWorks(s, otherRT) {
					t.Fatal("a refresh token issued before the password change still works")
				}
				if hasSession(other) {
					t.Fatal("another browser is still signed in after the password change")
				}
				if got := hasSession(own); got != ch.keepsOwn {
					t.Fatalf("the browser that changed the password signed in: %v, want %v", got, ch.keepsOwn)
				}
			})
		}
	})
}

// TestOnePasswordPolicy (issue 12): the web required 8 characters, the
// CLI and the admin API accepted any non-empty password. Now one policy
// (app.Service.CheckPassword) holds on the account page, the admin API
// and the CLI's use cases: at least SESAME_PASSWORD_MIN_LENGTH characters
// (default 8) and not the username.
func TestOnePasswordPolicy(t *testing.T) {
	for _, min := range []int{0, 12} { // 0: the default
		backends(t, func(c *config.Config) {
			if min > 0 {
				c.PasswordMinLength = min
			}
		}, func(t *testing.T, s *srv) {
			want := min
			if want == 0 {
				want = 8
			}
			pw := "correct horse battery"
			u := s.user("alice", pw)
			adm, admsec := s.client(app.ClientSpec{Name: "admin", GrantTypes: []string{"client_credentials"}, Scopes: []string{"sesame:admin"}})
			at := s.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"sesame:admin"}}, adm.ID, admsec)
			wantTokens(t, at)
			short := strings.Repeat("s", want-1)
			admin := func(method, path string, v any) resp {
				body, _ := json.Marshal(v)
				req, _ := http.NewRequest(method, s.issuer+path, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+at.str("access_token"))
				req.Header.Set("Content-Type", "application/json")
				return s.do(req)
			}
			for _, bad := range []string{short, "alice", "ALICE"} {
				wantError(t, admin(http.MethodPut, "/admin/users/"+u.ID+"/password", map[string]string{"password": bad}), 400, "invalid_request")
				wantError(t, admin(http.MethodPost, "/admin/users", map[string]string{"username": "bob", "password": bad}), 400, "invalid_request")
				if err := s.s.App.SetPassword(s.ctx, "cli", "alice", bad); !app.IsValidation(err) {
					t.Fatalf("CLI set-password %q: %v, want a validation error", bad, err)
				}
				b := s.browser()
				_, csrf := formOf(t, b.get("/login").body)
				b.post("/login", url.Values{"username": {"alice"}, "password": {pw}, "csrf_token": {csrf}})
				_, csrf = formOf(t, b.get("/account").body)
				r := b.post("/account/password", url.Values{"current_password": {pw}, "new_password": {bad}, "csrf_token": {csrf}})
				if r.status != http.StatusBadRequest {
					t.Fatalf("account page accepted %q: %d", bad, r.status)
				}
			}
			ok := strings.Repeat("k", want)
			if r := admin(http.MethodPut, "/admin/users/"+u.ID+"/password", map[string]string{"password": ok}); r.status != http.StatusNoContent {
				t.Fatalf("admin refused a %d-character password: %d %s", want, r.status, r.body)
			}
		})
	}
}

package security

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/internal/app"
)

// Resource indicators (RFC 8707, issue 18): `resource` at authorize and
// token narrows the access token's aud to registered APIs the client may
// ask for; anything else is invalid_target.

const (
	notesAPI = "https://notes.example.com"
	todoAPI  = "https://todo.example.com"
	otherAPI = "https://other.example.com"
)

func (s *srv) resource(uri, name string, scopes map[string]string) {
	s.t.Helper()
	in := app.ResourceInput{URI: &uri, Name: &name, Descriptions: scopes}
	for sc := range scopes {
		in.Scopes = append(in.Scopes, sc)
	}
	slices.Sort(in.Scopes)
	if _, err := s.s.App.CreateResource(s.ctx, "test", in); err != nil {
		s.t.Fatalf("create resource %s: %v", uri, err)
	}
}

// jwtAud reads the aud claim of a JWT (signature checked by introspection
// in the same test).
func jwtAud(t *testing.T, tok string) []string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Aud any `json:"aud"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return claimStrings(c.Aud)
}

func claimStrings(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []any:
		out := []string{}
		for _, x := range a {
			s, _ := x.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestResourceIndicators(t *testing.T) {
	backends(t, nil, func(t *testing.T, s *srv) {
		s.user("rita", "rita-password-1234")
		s.resource(notesAPI, "Notes", map[string]string{"api:read": "See your notes"})
		s.resource(todoAPI, "To-do list", map[string]string{"api:write": "Add and tick off your to-dos"})
		s.resource(otherAPI, "Other", map[string]string{"api:read": "Read other things"})
		web, sec := s.client(app.ClientSpec{Name: "notes-app", RedirectURIs: []string{"https://notes-app.example.com/cb"},
			GrantTypes: []string{"authorization_code", "refresh_token"},
			Scopes:     []string{"openid", "offline_access", "api:read", "api:write"},
			Audience:   []string{notesAPI, todoAPI, "https://unregistered.example.com"}})
		// The introspecting resource server.
		rsID, rsSec := s.client(app.ClientSpec{Name: "rs", GrantTypes: []string{"client_credentials"}, Scopes: []string{"sesame:introspect"}})

		t.Run("authorize with two resources, consent names the APIs in their own words, token narrows, refresh narrows to the other", func(t *testing.T) {
			a := newAuthz(t, web, "openid offline_access api:read api:write")
			a.extra["resource"] = []string{notesAPI, todoAPI}
			b := s.browser()
			r := b.follow(b.login(a, "rita", "rita-password-1234"))
			if r.status != http.StatusOK || !strings.Contains(string(r.body), `name="decision"`) {
				t.Fatalf("want the consent page, got %d", r.status)
			}
			page := string(r.body)
			for _, want := range []string{"Notes", notesAPI, "To-do list", todoAPI, "See your notes", "Add and tick off your to-dos"} {
				if !strings.Contains(page, want) {
					t.Errorf("consent page lacks %q", want)
				}
			}
			action, csrf := formOf(t, r.body)
			u := location(t, b.follow(b.post(action, url.Values{"decision": {"allow"}, "csrf_token": {csrf}})))
			code := u.Query().Get("code")
			if code == "" {
				t.Fatalf("no code: %s", u)
			}
			f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {a.redirect},
				"code_verifier": {a.verifier}, "resource": {notesAPI}}
			tr := s.token(f, web.ID, sec)
			wantTokens(t, tr)
			if aud := jwtAud(t, tr.str("access_token")); !sameSet(aud, []string{notesAPI}) {
				t.Fatalf("access token aud %v, want only %s", aud, notesAPI)
			}
			in := s.introspect(tr.str("access_token"), rsID.ID, rsSec)
			if in.json["active"] != true || !sameSet(claimStrings(in.json["aud"]), []string{notesAPI}) {
				t.Fatalf("introspection %s", in.body)
			}
			rt := tr.str("refresh_token")

			// Refresh can narrow to the other granted resource...
			r2 := s.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "resource": {todoAPI}}, web.ID, sec)
			wantTokens(t, r2)
			if aud := jwtAud(t, r2.str("access_token")); !sameSet(aud, []string{todoAPI}) {
				t.Fatalf("refreshed aud %v, want only %s", aud, todoAPI)
			}
			// ...without resource it gets the whole grant...
			r3 := s.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r2.str("refresh_token")}}, web.ID, sec)
			wantTokens(t, r3)
			if aud := jwtAud(t, r3.str("access_token")); !sameSet(aud, []string{notesAPI, todoAPI}) {
				t.Fatalf("refresh without resource: aud %v, want both", aud)
			}
			// ...and never to a resource outside the grant.
			bad := s.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r3.str("refresh_token")}, "resource": {otherAPI}}, web.ID, sec)
			wantError(t, bad, http.StatusBadRequest, "invalid_target")
			// The refused request did not use up the refresh token.
			wantTokens(t, s.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r3.str("refresh_token")}}, web.ID, sec))
		})

		t.Run("the code of one resource cannot be exchanged for another", func(t *testing.T) {
			a := newAuthz(t, web, "openid api:read")
			a.extra["resource"] = []string{notesAPI}
			code := s.code(a, "rita", "rita-password-1234")
			f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {a.redirect},
				"code_verifier": {a.verifier}, "resource": {todoAPI}}
			wantError(t, s.token(f, web.ID, sec), http.StatusBadRequest, "invalid_target")
		})

		for name, res := range map[string]string{
			"registered but not among the client's audiences": otherAPI,
			"among the audiences but not registered":          "https://unregistered.example.com",
			"not an absolute URI":                             "notes",
		} {
			t.Run("authorize refuses a resource "+name, func(t *testing.T) {
				a := newAuthz(t, web, "openid api:read")
				a.extra["resource"] = []string{res}
				u := location(t, s.browser().get(a.path()))
				if got := u.Scheme + "://" + u.Host + u.Path; got != a.redirect || u.Query().Get("error") != "invalid_target" || u.Query().Get("state") != a.state {
					t.Fatalf("authorize answered %s, want invalid_target at the redirect URI", u)
				}
			})
		}

		t.Run("client_credentials with resource: aud is that API, opaque and JWT", func(t *testing.T) {
			for _, format := range []string{"jwt", "opaque"} {
				svc, ssec := s.client(app.ClientSpec{Name: "svc-" + format, GrantTypes: []string{"client_credentials"},
					Scopes: []string{"api:read"}, Audience: []string{notesAPI, todoAPI}, AccessTokenFormat: format})
				tr := s.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"api:read"}, "resource": {todoAPI}}, svc.ID, ssec)
				wantTokens(t, tr)
				in := s.introspect(tr.str("access_token"), rsID.ID, rsSec)
				if in.json["active"] != true || !sameSet(claimStrings(in.json["aud"]), []string{todoAPI}) {
					t.Fatalf("%s: introspection %s", format, in.body)
				}
				if format == "jwt" && !sameSet(jwtAud(t, tr.str("access_token")), []string{todoAPI}) {
					t.Fatalf("jwt aud %v", jwtAud(t, tr.str("access_token")))
				}
				wantError(t, s.token(url.Values{"grant_type": {"client_credentials"}, "resource": {otherAPI}}, svc.ID, ssec),
					http.StatusBadRequest, "invalid_target")
			}
		})
	})
}

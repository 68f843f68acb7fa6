package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
)

// withSignup runs the handler's use cases with SESAME_SIGNUP=mode and the
// test server as the issuer of the links (what the server wires from its
// config).
func withSignup(mode string) envOption {
	return func(d *Deps) {
		d.App = d.App.WithAccounts(app.AccountSettings{Issuer: d.Issuer, Signup: mode})
	}
}

// mailTo lists the queued messages to recipient.
func mailTo(t *testing.T, st storage.Store, recipient string) []storage.Mail {
	t.Helper()
	ms, err := st.ListMail(context.Background(), storage.MaxListLimit)
	if err != nil {
		t.Fatal(err)
	}
	var out []storage.Mail
	for _, m := range ms {
		if m.Recipient == recipient {
			out = append(out, m)
		}
	}
	return out
}

func TestInviteUser(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		e := newEnv(t, st, withSignup(app.SignupInvite))
		before := time.Now()
		r := e.do(http.MethodPost, "/admin/users/invite", map[string]string{"email": " alice@example.com "}, http.StatusCreated)

		// The answer is the CLI's --json object, field for field.
		var fields map[string]json.RawMessage
		r.json(t, &fields)
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if strings.Join(keys, ",") != "email,expires_at,link,queued" {
			t.Fatalf("fields %v, want those of `sesame users invite --json`", keys)
		}
		var inv app.Invitation
		r.json(t, &inv)
		if inv.Email != "alice@example.com" || !inv.Queued ||
			inv.ExpiresAt.Before(before.Add(app.DefaultInviteLifetime-time.Minute)) || inv.ExpiresAt.After(time.Now().Add(app.DefaultInviteLifetime+time.Minute)) {
			t.Fatalf("invitation %+v", inv)
		}
		if cc := r.header.Get("Cache-Control"); cc != "no-store" {
			t.Fatalf("Cache-Control %q: the answer carries a bearer link", cc)
		}
		u, err := url.Parse(inv.Link)
		if err != nil || !strings.HasPrefix(inv.Link, e.srv.URL+app.PathSignup+"?") || u.Query().Get(app.InviteParam) == "" {
			t.Fatalf("link %q, want %s%s?%s=…", inv.Link, e.srv.URL, app.PathSignup, app.InviteParam)
		}
		if got, err := e.svc.CheckInvitation(ctx, u.Query().Get(app.InviteParam)); err != nil || got != inv.Email {
			t.Fatalf("CheckInvitation = %q, %v; want the invited address", got, err)
		}

		// The mail is queued with the same link, and the call is audited
		// with who and from where.
		if ms := mailTo(t, st, inv.Email); len(ms) != 1 || !slices.Equal(ms[0].Links, []string{inv.Link}) {
			t.Fatalf("queued mail to %s: %+v", inv.Email, ms)
		}
		ev, _, err := st.ListAudit(ctx, storage.AuditFilter{Type: "user.invited", Limit: storage.MaxListLimit})
		if err != nil {
			t.Fatal(err)
		}
		if len(ev) != 1 || ev[0].Actor != "admin:"+e.adminClientID || ev[0].Details["email"] != inv.Email ||
			ev[0].UserAgent != testUA || ev[0].IP == "" {
			t.Fatalf("user.invited events %+v", ev)
		}

		// A second invitation to the same address (no account yet) is a
		// new, separate link.
		var again app.Invitation
		e.do(http.MethodPost, "/admin/users/invite", map[string]string{"email": inv.Email}, http.StatusCreated).json(t, &again)
		if again.Link == inv.Link {
			t.Fatal("a second invitation reused the first link")
		}
	})
}

func TestInviteUserRefusals(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		e := newEnv(t, st, withSignup(app.SignupOpen))
		closed := newEnv(t, st) // SESAME_SIGNUP off, the default
		_, otherToken := e.clientToken("read:things")
		if _, err := e.svc.CreateUser(ctx, "cli", app.NewUser{Username: "dave", Password: "pw-long-enough", Email: "dave@example.com"}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name     string
			env      *env
			token    string
			body     any
			status   int
			wantCode string
			wantDesc string
		}{
			{"sign-up off", closed, closed.adminToken, `{"email":"carol@example.com"}`, http.StatusConflict, "signup_closed", "SESAME_SIGNUP"},
			{"an address with an account", e, e.adminToken, `{"email":"dave@example.com"}`, http.StatusConflict, "conflict", "exists"},
			{"not an address", e, e.adminToken, `{"email":"not an address"}`, http.StatusBadRequest, "invalid_request", "email"},
			{"a header injection", e, e.adminToken, map[string]string{"email": "a@example.com\r\nBcc: x@example.com"}, http.StatusBadRequest, "invalid_request", "email"},
			{"a display name", e, e.adminToken, `{"email":"Alice <alice@example.com>"}`, http.StatusBadRequest, "invalid_request", "email"},
			{"no email", e, e.adminToken, `{}`, http.StatusBadRequest, "invalid_request", "email"},
			{"an unknown field", e, e.adminToken, `{"email":"x@example.com","name":"X"}`, http.StatusBadRequest, "invalid_request", "name: unknown field"},
			{"email not a string", e, e.adminToken, `{"email":5}`, http.StatusBadRequest, "invalid_request", "email: must be a string"},
			{"not JSON", e, e.adminToken, `email=x@example.com`, http.StatusBadRequest, "invalid_request", "JSON"},
			{"too large", e, e.adminToken, `{"email":"` + strings.Repeat("a", maxBodyBytes) + `@example.com"}`, http.StatusRequestEntityTooLarge, "invalid_request", "exceeds"},
			{"no token", e, "", `{"email":"x@example.com"}`, http.StatusUnauthorized, "invalid_token", ""},
			{"a token without sesame:admin", e, otherToken, `{"email":"x@example.com"}`, http.StatusForbidden, "insufficient_scope", "sesame:admin"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := tc.env.snapshot()
				mails, err := st.ListMail(ctx, storage.MaxListLimit)
				if err != nil {
					t.Fatal(err)
				}
				r := tc.env.call(http.MethodPost, "/admin/users/invite", tc.token, tc.body)
				if r.status != tc.status {
					t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
				}
				got := r.apiErr(t)
				if got.Code != tc.wantCode || got.Description == "" || !strings.Contains(got.Description, tc.wantDesc) {
					t.Fatalf("error %+v, want %s with a description containing %q", got, tc.wantCode, tc.wantDesc)
				}
				if after := tc.env.snapshot(); after != before {
					t.Fatalf("a refused invitation changed the store: %+v -> %+v", before, after)
				}
				if after, err := st.ListMail(ctx, storage.MaxListLimit); err != nil || len(after) != len(mails) {
					t.Fatalf("a refused invitation queued mail (%d -> %d, %v)", len(mails), len(after), err)
				}
			})
		}
		t.Run("wrong content type", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/admin/users/invite", strings.NewReader(`{"email":"x@example.com"}`))
			req.Header.Set("Content-Type", "text/plain")
			req.Header.Set("Authorization", "Bearer "+e.adminToken)
			resp, err := e.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b := readAll(t, resp)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnsupportedMediaType || !strings.Contains(string(b), "application/json") {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
		})
	})
}

// TestInviteRouteLeavesUserInvite checks that the static route does not
// hide a user whose username is "invite" from the /admin/users/{id}
// routes.
func TestInviteRouteLeavesUserInvite(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st, withSignup(app.SignupInvite))
		u, err := e.svc.CreateUser(context.Background(), "cli", app.NewUser{Username: "invite", Password: "pw-long-enough"})
		if err != nil {
			t.Fatal(err)
		}
		var got app.UserView
		e.do(http.MethodGet, "/admin/users/invite", nil, http.StatusOK).json(t, &got)
		if got.ID != u.ID {
			t.Fatalf("GET /admin/users/invite answered %+v", got)
		}
		e.do(http.MethodPost, "/admin/users/invite/unlock", nil, http.StatusOK).json(t, &got)
		e.do(http.MethodPost, "/admin/users/invite/disable", nil, http.StatusOK).json(t, &got)
		if got.ID != u.ID || !got.Disabled {
			t.Fatalf("POST /admin/users/invite/disable answered %+v", got)
		}
	})
}

package admin

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/keys"
	"github.com/sesameauth/sesame/storage"
)

func TestClientRoutes(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		var created app.ClientView
		r := e.do(http.MethodPost, "/admin/clients", map[string]any{
			"client_name": "Web app", "grant_types": []string{"authorization_code", "refresh_token"},
			"redirect_uris": []string{"https://app.example.com/cb"}, "scope": "openid profile offline_access",
			"audience": []string{"api1"}, "contacts": []string{"ops@example.com"},
		}, http.StatusCreated)
		r.json(t, &created)
		if created.ClientID == "" || len(created.ClientSecret) != 43 || created.Scope != "openid profile offline_access" ||
			created.TokenEndpointAuthMethod != "client_secret_basic" || strings.Join(created.ResponseTypes, ",") != "code" {
			t.Fatalf("created %+v", created)
		}
		if loc := r.header.Get("Location"); loc != "/admin/clients/"+created.ClientID {
			t.Fatalf("Location %q", loc)
		}
		path := "/admin/clients/" + created.ClientID

		var got app.ClientView
		e.do(http.MethodGet, path, nil, http.StatusOK).json(t, &got)
		if got.ClientID != created.ClientID || got.ClientSecret != "" || got.ClientName != "Web app" {
			t.Fatalf("get %+v", got)
		}

		// PATCH changes only what it names.
		var patched app.ClientView
		e.do(http.MethodPatch, path, map[string]any{"client_name": "Renamed", "skip_consent": true}, http.StatusOK).json(t, &patched)
		if patched.ClientName != "Renamed" || !patched.SkipConsent || patched.Scope != "openid profile offline_access" || len(patched.Audience) != 1 {
			t.Fatalf("patched %+v", patched)
		}

		// PUT replaces everything: absent fields go back to defaults.
		var replaced app.ClientView
		e.do(http.MethodPut, path, map[string]any{
			"client_id": created.ClientID, "client_name": "Service", "grant_types": []string{"client_credentials"}, "scope": "read",
		}, http.StatusOK).json(t, &replaced)
		if replaced.ClientName != "Service" || replaced.SkipConsent || len(replaced.RedirectURIs) != 0 ||
			len(replaced.Audience) != 0 || strings.Join(replaced.GrantTypes, ",") != "client_credentials" {
			t.Fatalf("replaced %+v", replaced)
		}

		var rotated app.ClientView
		e.do(http.MethodPost, path+"/rotate-secret", nil, http.StatusOK).json(t, &rotated)
		if len(rotated.ClientSecret) != 43 || rotated.ClientSecret == created.ClientSecret {
			t.Fatal("rotate-secret must answer a new secret")
		}
		// The new secret works at the token endpoint, the old one does not.
		tok := e.ccToken(created.ClientID, rotated.ClientSecret, "read")
		if tok == "" {
			t.Fatal("no token with the rotated secret")
		}
		stored, err := st.GetClient(context.Background(), created.ClientID)
		if err != nil {
			t.Fatal(err)
		}
		if e.svc.VerifyClientSecret(stored, created.ClientSecret) {
			t.Fatal("the old secret is still accepted after rotation without keep_old")
		}

		// A user's consents to this client and to another one.
		ctx := context.Background()
		u, err := e.svc.CreateUser(ctx, "cli", app.NewUser{Username: "carol", Password: "pw-long-enough"})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC().Truncate(time.Second)
		for _, clientID := range []string{created.ClientID, e.adminClientID} {
			if err := st.UpsertConsent(ctx, storage.Consent{UserID: u.ID, ClientID: clientID, Scopes: []string{"openid"}, CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
		}

		// DELETE revokes the client's tokens and forgets consents to it.
		e.do(http.MethodDelete, path, nil, http.StatusNoContent)
		e.do(http.MethodGet, path, nil, http.StatusNotFound)
		if _, err := e.admin.tokens.VerifyAccessToken(ctx, tok); err == nil {
			t.Fatal("a token of a deleted client is still active")
		}
		var cs page[ConsentView]
		e.do(http.MethodGet, "/admin/users/"+u.ID+"/consents", nil, http.StatusOK).json(t, &cs)
		if len(cs.Items) != 1 || cs.Items[0].ClientID != e.adminClientID {
			t.Fatalf("consents after deleting client %s: %+v, want only the one to %s", created.ClientID, cs.Items, e.adminClientID)
		}
		e.do(http.MethodDelete, path, nil, http.StatusNotFound)

		// Every change is audited with who, what and from where.
		var audit page[app.AuditView]
		e.do(http.MethodGet, "/admin/audit?client_id="+created.ClientID, nil, http.StatusOK).json(t, &audit)
		types := map[string]bool{}
		for _, ev := range audit.Items {
			types[ev.Type] = true
			if ev.Actor != "admin:"+e.adminClientID || ev.IP != "127.0.0.1" || ev.UserAgent != testUA {
				t.Fatalf("audit event without who/where: %+v", ev)
			}
		}
		for _, want := range []string{"client.created", "client.updated", "client.secret_rotated", "client.deleted"} {
			if !types[want] {
				t.Fatalf("audit lacks %s: %v", want, types)
			}
		}
		for _, ev := range audit.Items {
			if ev.Type == "client.deleted" && ev.Details["consents_deleted"] != "1" {
				t.Fatalf("client.deleted details %v, want consents_deleted=1", ev.Details)
			}
		}
	})
}

func TestUserRoutes(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		var u app.UserView
		e.do(http.MethodPost, "/admin/users", map[string]any{
			"username": "alice", "password": "correct horse", "email": "alice@example.com", "name": "Alice",
		}, http.StatusCreated).json(t, &u)
		if len(u.ID) != 36 || u.Username != "alice" || u.Email != "alice@example.com" {
			t.Fatalf("created %+v", u)
		}
		if strings.Contains(string(e.do(http.MethodGet, "/admin/users/"+u.ID, nil, http.StatusOK).body), "argon2") {
			t.Fatal("the password hash leaked into the API")
		}
		var byName app.UserView
		e.do(http.MethodGet, "/admin/users/ALICE", nil, http.StatusOK).json(t, &byName)
		if byName.ID != u.ID {
			t.Fatal("get by username failed")
		}
		e.do(http.MethodPost, "/admin/users", map[string]any{"username": "Alice", "password": "x-long-enough"}, http.StatusConflict)

		var p app.UserView
		e.do(http.MethodPatch, "/admin/users/"+u.ID, map[string]any{"email": "a@example.org", "email_verified": true, "name": "Alice B"}, http.StatusOK).json(t, &p)
		if p.Email != "a@example.org" || !p.EmailVerified || p.Name != "Alice B" {
			t.Fatalf("patched %+v", p)
		}

		e.do(http.MethodPut, "/admin/users/"+u.ID+"/password", map[string]any{"password": "new secret"}, http.StatusNoContent)
		if _, err := app.NewPasswords(st, nil, e.svc.PasswordParams(), nil).Verify(ctx, app.PasswordAttempt{Username: "alice", Password: "new secret"}); err != nil {
			t.Fatalf("new password refused: %v", err)
		}

		// Disabling revokes sessions and grants.
		seedGrant(t, st, u.ID, e.adminClientID, "g-disable")
		if err := st.CreateSession(ctx, storage.LoginSession{ID: "sess-1", UserID: u.ID, AuthTime: time.Now(), CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		var d app.UserView
		e.do(http.MethodPost, "/admin/users/"+u.ID+"/disable", nil, http.StatusOK).json(t, &d)
		if !d.Disabled {
			t.Fatal("not disabled")
		}
		if g, _ := st.GetGrant(ctx, "g-disable"); g.RevokedAt == nil {
			t.Fatal("disable left the user's grant active")
		}
		if s, _ := st.GetSession(ctx, "sess-1"); s.RevokedAt == nil {
			t.Fatal("disable left the user's session active")
		}
		e.do(http.MethodPatch, "/admin/users/"+u.ID, map[string]any{"disabled": false}, http.StatusOK).json(t, &d)
		if d.Disabled {
			t.Fatal("PATCH disabled=false did not enable")
		}

		e.do(http.MethodDelete, "/admin/users/"+u.ID, nil, http.StatusNoContent)
		e.do(http.MethodGet, "/admin/users/"+u.ID, nil, http.StatusNotFound)
	})
}

// seedGrant stores an active grant with an access token row.
func seedGrant(t *testing.T, st storage.Store, userID, clientID, requestID string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	if err := st.CreateGrant(ctx, storage.Grant{RequestID: requestID, ClientID: clientID, Subject: userID, GrantType: "authorization_code",
		CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateToken(ctx, storage.TokenRecord{Kind: storage.KindAccessToken, Signature: "sig-" + requestID, RequestID: requestID,
		ClientID: clientID, Subject: userID, Active: true, RequestedAt: now, ExpiresAt: now.Add(time.Hour), Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
}

func TestConsentKeyTokenAuditAndRegistrationTokenRoutes(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		u, err := e.svc.CreateUser(ctx, "cli", app.NewUser{Username: "bob", Password: "pw-long-enough"})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC().Truncate(time.Second)
		if err := st.UpsertConsent(ctx, storage.Consent{UserID: u.ID, ClientID: e.adminClientID, Scopes: []string{"openid"}, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		seedGrant(t, st, u.ID, e.adminClientID, "g-consent")

		var cs page[ConsentView]
		e.do(http.MethodGet, "/admin/users/"+u.ID+"/consents", nil, http.StatusOK).json(t, &cs)
		if len(cs.Items) != 1 || cs.Items[0].ClientID != e.adminClientID || cs.Items[0].Scope != "openid" {
			t.Fatalf("consents %+v", cs)
		}
		var revoked map[string]int
		e.do(http.MethodDelete, "/admin/users/"+u.ID+"/consents/"+e.adminClientID, nil, http.StatusOK).json(t, &revoked)
		if revoked["grants_revoked"] != 1 {
			t.Fatalf("revoke consent: %v", revoked)
		}
		if rec, _ := st.GetToken(ctx, storage.KindAccessToken, "sig-g-consent"); rec.Active {
			t.Fatal("the consent's access token is still active")
		}
		e.do(http.MethodGet, "/admin/users/"+u.ID+"/consents", nil, http.StatusOK).json(t, &cs)
		if len(cs.Items) != 0 {
			t.Fatal("consent not deleted")
		}
		e.do(http.MethodDelete, "/admin/users/"+u.ID+"/consents/"+e.adminClientID, nil, http.StatusNotFound)

		// Keys: public parts only; rotation gives a new active key.
		var ks page[KeyView]
		r := e.do(http.MethodGet, "/admin/keys", nil, http.StatusOK)
		r.json(t, &ks)
		if len(ks.Items) == 0 || ks.Items[0].State != "active" || len(ks.Items[0].PublicJWK) == 0 {
			t.Fatalf("keys %s", r.body)
		}
		if strings.Contains(string(r.body), `"d"`) {
			t.Fatal("private key material in the key list")
		}
		var rot page[KeyView]
		e.do(http.MethodPost, "/admin/keys/rotate", nil, http.StatusOK).json(t, &rot)
		if len(rot.Items) != 1 || rot.Items[0].KID == ks.Items[0].KID || rot.Items[0].Alg != keys.ES256 {
			t.Fatalf("rotated %+v", rot)
		}
		e.do(http.MethodGet, "/admin/keys", nil, http.StatusOK).json(t, &ks)
		states := map[string]string{}
		for _, k := range ks.Items {
			states[k.KID] = k.State
		}
		if states[rot.Items[0].KID] != "active" || len(states) < 2 {
			t.Fatalf("after rotation %v", states)
		}

		// Tokens: revoke by user and by client.
		seedGrant(t, st, u.ID, e.adminClientID, "g-user")
		var n map[string]int
		e.do(http.MethodPost, "/admin/tokens/revoke", map[string]string{"user_id": u.ID}, http.StatusOK).json(t, &n)
		if n["grants_revoked"] != 1 {
			t.Fatalf("revoke by user: %v", n)
		}
		// A client's client_credentials tokens have no grant row (0 grants
		// revoked) yet revoking by client revokes them: a second admin
		// client's token stops working at once.
		otherID, otherTok := e.clientToken("sesame:admin")
		if r := e.call(http.MethodGet, "/admin/users", otherTok, nil); r.status != http.StatusOK {
			t.Fatalf("the other admin token before revocation: %d %s", r.status, r.body)
		}
		seedGrant(t, st, "", otherID, "g-client")
		e.do(http.MethodPost, "/admin/tokens/revoke", map[string]string{"client_id": otherID}, http.StatusOK).json(t, &n)
		if n["grants_revoked"] != 1 {
			t.Fatalf("revoke by client: %v", n)
		}
		if r := e.call(http.MethodGet, "/admin/users", otherTok, nil); r.status != http.StatusUnauthorized {
			t.Fatalf("a revoked client's token still works on the admin API: %d %s", r.status, r.body)
		}
		if r := e.call(http.MethodGet, "/admin/users", e.adminToken, nil); r.status != http.StatusOK {
			t.Fatalf("revoking another client revoked ours: %d %s", r.status, r.body)
		}
		e.do(http.MethodPost, "/admin/tokens/revoke", map[string]string{"client_id": "nope"}, http.StatusNotFound)

		// Registration tokens.
		var rt app.RegistrationTokenView
		e.do(http.MethodPost, "/admin/registration-tokens", map[string]any{"description": "partner", "expires_in": 3600, "max_uses": 2}, http.StatusCreated).json(t, &rt)
		if !strings.HasPrefix(rt.Token, app.RegistrationTokenPrefix) || rt.MaxUses != 2 || rt.ExpiresAt.Sub(rt.CreatedAt) != time.Hour {
			t.Fatalf("registration token %+v", rt)
		}
		var rts page[app.RegistrationTokenView]
		r = e.do(http.MethodGet, "/admin/registration-tokens", nil, http.StatusOK)
		r.json(t, &rts)
		if len(rts.Items) != 1 || rts.Items[0].ID != rt.ID || strings.Contains(string(r.body), rt.Token) {
			t.Fatalf("registration tokens %s", r.body)
		}
		e.do(http.MethodDelete, "/admin/registration-tokens/"+rt.ID, nil, http.StatusNoContent)
		e.do(http.MethodDelete, "/admin/registration-tokens/"+rt.ID, nil, http.StatusNotFound)

		// Audit: filters and every kind of change recorded.
		var all page[app.AuditView]
		e.do(http.MethodGet, "/admin/audit?limit=500", nil, http.StatusOK).json(t, &all)
		types := map[string]bool{}
		for _, ev := range all.Items {
			types[ev.Type] = true
		}
		for _, want := range []string{"consent.revoked", "key.rotated", "token.revoked", "registration_token.created", "registration_token.deleted"} {
			if !types[want] {
				t.Fatalf("audit lacks %s: %v", want, types)
			}
		}
		var byType page[app.AuditView]
		e.do(http.MethodGet, "/admin/audit?type=key.rotated", nil, http.StatusOK).json(t, &byType)
		if len(byType.Items) != 1 || byType.Items[0].Details["kid"] != rot.Items[0].KID || byType.Items[0].IP == "" {
			t.Fatalf("audit by type %+v", byType.Items)
		}
		var byUser page[app.AuditView]
		e.do(http.MethodGet, "/admin/audit?user_id="+u.ID, nil, http.StatusOK).json(t, &byUser)
		for _, ev := range byUser.Items {
			if ev.UserID != u.ID {
				t.Fatalf("user filter leaked %+v", ev)
			}
		}
		future := url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
		var none page[app.AuditView]
		e.do(http.MethodGet, "/admin/audit?since="+future, nil, http.StatusOK).json(t, &none)
		if len(none.Items) != 0 {
			t.Fatalf("since filter: %d events", len(none.Items))
		}
		var upTo page[app.AuditView]
		e.do(http.MethodGet, "/admin/audit?until="+future, nil, http.StatusOK).json(t, &upTo)
		if len(upTo.Items) != len(all.Items) {
			t.Fatalf("until filter: %d events, want %d", len(upTo.Items), len(all.Items))
		}
	})
}

func TestPagination(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		for i := 0; i < 7; i++ {
			e.do(http.MethodPost, "/admin/clients", map[string]any{"client_name": "paged client", "grant_types": []string{"client_credentials"}}, http.StatusCreated)
			e.do(http.MethodPost, "/admin/users", map[string]any{"username": "user" + string(rune('a'+i)), "password": "pw-long-enough"}, http.StatusCreated)
		}
		for _, base := range []string{"/admin/clients?q=paged&limit=3", "/admin/users?q=user&limit=3", "/admin/audit?type=user.created&limit=3"} {
			t.Run(base, func(t *testing.T) {
				var sizes []int
				seen := map[string]bool{}
				cursor := ""
				for page := 0; page < 5; page++ {
					path := base
					if cursor != "" {
						path += "&cursor=" + url.QueryEscape(cursor)
					}
					var p struct {
						Items      []map[string]any `json:"items"`
						NextCursor string           `json:"next_cursor"`
					}
					e.do(http.MethodGet, path, nil, http.StatusOK).json(t, &p)
					sizes = append(sizes, len(p.Items))
					for _, it := range p.Items {
						key := ""
						for _, k := range []string{"client_id", "id"} {
							if v, ok := it[k]; ok {
								key = fmtAny(v)
								break
							}
						}
						if seen[key] {
							t.Fatalf("item %s returned twice", key)
						}
						seen[key] = true
					}
					if cursor = p.NextCursor; cursor == "" {
						break
					}
				}
				if len(sizes) != 3 || sizes[0] != 3 || sizes[1] != 3 || sizes[2] != 1 {
					t.Fatalf("page sizes %v, want [3 3 1]", sizes)
				}
			})
		}
	})
}

func fmtAny(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return time.Duration(x).String()
	}
	return ""
}

package security

import (
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
)

// TestClientChangesReachEveryInstance (issue 13 item 5): deleting a client
// or rotating its secret on one instance (or from the CLI, another
// process on the same database) took up to the 5 s client-cache TTL to
// reach the other instances on SQLite, where there is no NOTIFY. Now it
// holds at once where it was made and within 1 s everywhere, and the
// JWT access tokens of a deleted client introspect inactive there too.
func TestClientChangesReachEveryInstance(t *testing.T) {
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) {
			url_ := "sqlite:" + filepath.Join(t.TempDir(), "shared.db")
			if b == "postgres" {
				url_ = pgtest.URL(t)
			}
			var a, o *srv
			for i := range 2 {
				cfg := baseConfig(t)
				cfg.DatabaseURL = url_
				cfg.AccessTokenFormat = "jwt"
				if i == 0 {
					a = start(t, cfg)
				} else {
					o = start(t, cfg)
				}
			}
			a, o = a.with(t), o.with(t)
			rs, rssec := a.client(app.ClientSpec{Name: "rs", GrantTypes: []string{"client_credentials"}, Scopes: []string{"sesame:introspect"}})
			cc := url.Values{"grant_type": {"client_credentials"}}

			// Deletion.
			doomed, dsec := a.client(app.ClientSpec{Name: "doomed", GrantTypes: []string{"client_credentials"}, Scopes: []string{"api:read"}})
			tok := o.token(cc, doomed.ID, dsec) // warms o's client cache
			wantTokens(t, tok)
			if !o.active(tok.str("access_token"), rs.ID, rssec) {
				t.Fatal("fresh token inactive")
			}
			if err := a.s.App.DeleteClient(a.ctx, "test", doomed.ID); err != nil {
				t.Fatal(err)
			}
			wantError(t, a.token(cc, doomed.ID, dsec), 401, "invalid_client")
			time.Sleep(1100 * time.Millisecond)
			wantError(t, o.token(cc, doomed.ID, dsec), 401, "invalid_client")
			if o.active(tok.str("access_token"), rs.ID, rssec) {
				t.Fatal("deleted client's JWT access token is active on the other instance after 1 s")
			}

			// Secret rotation.
			svc, old := a.client(app.ClientSpec{Name: "svc", GrantTypes: []string{"client_credentials"}, Scopes: []string{"api:read"}})
			wantTokens(t, o.token(cc, svc.ID, old))
			_, fresh, err := a.s.App.RotateClientSecret(a.ctx, "test", svc.ID, false)
			if err != nil {
				t.Fatal(err)
			}
			wantError(t, a.token(cc, svc.ID, old), 401, "invalid_client")
			time.Sleep(1100 * time.Millisecond)
			wantError(t, o.token(cc, svc.ID, old), 401, "invalid_client")
			wantTokens(t, o.token(cc, svc.ID, fresh))
		})
	}
}

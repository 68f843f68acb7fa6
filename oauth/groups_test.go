package oauth

import (
	"context"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// TestGroupsClaim: with the groups scope, a user's token carries the names
// of the user's groups in the JWT access token and in introspection (JWT
// and opaque); a refresh takes them again; without the scope there is no
// claim.
func TestGroupsClaim(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		alice := e.createUser("alice", "correct horse", false)
		for i, name := range []string{"staff", "Admins"} {
			g := storage.Group{ID: "g" + name, Name: name, CreatedAt: time.Now()}
			if err := e.store.CreateGroup(ctx, g); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				if _, err := e.store.AddGroupMember(ctx, g.ID, alice, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, format := range []string{FormatJWT, FormatOpaque} {
			t.Run(format, func(t *testing.T) {
				c, sec := e.createClient(storage.Client{GrantTypes: []string{"password", "refresh_token"},
					Scopes: []string{"openid", "offline_access", "groups", "api"}, AccessTokenFormat: format})
				grant := func(scope string) response {
					r := e.post(PathToken, url.Values{"grant_type": {"password"}, "username": {"alice"},
						"password": {"correct horse"}, "scope": {scope}}, c.ID, sec)
					mustToken(t, r)
					return r
				}
				groupsOf := func(r response) []string {
					t.Helper()
					in := e.introspect(r.str("access_token"), c.ID, sec)
					raw, _ := in.body["groups"].([]any)
					var out []string
					for _, g := range raw {
						out = append(out, g.(string))
					}
					if format == FormatJWT {
						_, claims := e.verifyJWT(r.str("access_token"))
						jraw, _ := claims["groups"].([]any)
						if len(jraw) != len(out) {
							t.Fatalf("JWT groups %v, introspection %v", claims["groups"], out)
						}
					}
					return out
				}
				r := grant("api groups offline_access")
				if got := groupsOf(r); !slices.Equal(got, []string{"staff"}) {
					t.Fatalf("groups %v, want [staff]", got)
				}
				if got := groupsOf(grant("api")); got != nil {
					t.Fatalf("without the groups scope the token has groups %v", got)
				}
				// A new membership reaches the next refresh.
				if _, err := e.store.AddGroupMember(ctx, "gAdmins", alice, time.Now()); err != nil {
					t.Fatal(err)
				}
				next := e.refresh(c.ID, sec, r.str("refresh_token"))
				mustToken(t, next)
				if got := groupsOf(next); !slices.Equal(got, []string{"Admins", "staff"}) {
					t.Fatalf("after refresh groups %v, want [Admins staff]", got)
				}
				if err := e.store.RemoveGroupMember(ctx, "gAdmins", alice); err != nil {
					t.Fatal(err)
				}
			})
		}
	})
}

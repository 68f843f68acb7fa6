package oauth

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sesameauth/sesame/storage"
)

func TestPersonalTokens(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		uid := e.createUser("carol", "pw-carol-1", false)
		disabled := e.createUser("dave", "pw-dave-1", true)
		c, sec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}, Scopes: []string{"api:read", "api:write"}})

		tok, exp, err := e.h.IssuePersonalToken(ctx, uid, c.ID, []string{"api:read"}, 720*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tok, prefixAccessToken) {
			t.Fatalf("personal token %q is not opaque", tok)
		}
		if d := time.Until(exp); d < 719*time.Hour || d > 721*time.Hour {
			t.Fatalf("expires in %s", d)
		}
		in := e.introspect(tok, c.ID, sec)
		if in.body["active"] != true || in.str("sub") != uid || in.str("username") != "carol" || in.str("scope") != "api:read" {
			t.Fatalf("introspection: %s", in.raw)
		}
		if err := e.h.RevokeToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if e.active(tok, c.ID, sec) {
			t.Fatal("revoked personal token is active")
		}
		if err := e.h.RevokeToken(ctx, tok); err != nil {
			t.Fatalf("revoking twice: %v", err)
		}
		if err := e.h.RevokeToken(ctx, "sesame_at_nope.nope"); !errors.Is(err, ErrUnknownToken) || !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("unknown token: %v", err)
		}

		// RevokeToken works on any token value: a refresh token revokes its grant.
		_, _, cfg := e.codeClient(nil)
		ct := e.codeTokens(cfg, "offline_access api")
		if err := e.h.RevokeToken(ctx, ct.RefreshToken); err != nil {
			t.Fatal(err)
		}
		if e.active(ct.AccessToken, cfg.ClientID, cfg.ClientSecret) {
			t.Fatal("access token active after RevokeToken of its refresh token")
		}

		tests := []struct {
			name, user, client string
			scopes             []string
			ttl                time.Duration
		}{
			{"scope not allowed", uid, c.ID, []string{"admin"}, time.Hour},
			{"unknown user", "nobody", c.ID, nil, time.Hour},
			{"disabled user", disabled, c.ID, nil, time.Hour},
			{"unknown client", uid, "nope", nil, time.Hour},
			{"zero ttl", uid, c.ID, nil, 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if tok, _, err := e.h.IssuePersonalToken(ctx, tt.user, tt.client, tt.scopes, tt.ttl); err == nil || tok != "" {
					t.Fatalf("issued %q, err %v", tok, err)
				}
			})
		}
	})
}

func TestRevokeGrantsByUser(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		_, _, cfg := e.codeClient(nil)
		mine := e.codeTokens(cfg, "offline_access api") // subject "user-1"
		_, _, other := e.codeClient(nil)
		verifier, challenge := pkcePair(t)
		code := e.authorize(other.ClientID, other.RedirectURL, "offline_access api", challenge, "user-2")
		theirs, err := other.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		_, claims := e.verifyJWT(mine.AccessToken)

		if _, err := e.h.RevokeGrants(ctx, storage.GrantFilter{}, "x"); err == nil {
			t.Fatal("RevokeGrants without a filter must refuse to revoke everything")
		}
		n, err := e.h.RevokeGrants(ctx, storage.GrantFilter{Subject: "user-1"}, "user_disabled")
		if err != nil || n != 1 {
			t.Fatalf("RevokeGrants: %d, %v", n, err)
		}
		if e.active(mine.AccessToken, cfg.ClientID, cfg.ClientSecret) || e.active(mine.RefreshToken, cfg.ClientID, cfg.ClientSecret) {
			t.Fatal("user-1's tokens still active")
		}
		// A rowless JWT obeys its grant (named by grant_id): no row lists
		// its jti, so revoking by user revokes the grant, not the jti.
		if g, err := e.store.GetGrant(ctx, claims["grant_id"].(string)); err != nil || g.RevokedAt == nil {
			t.Fatalf("user-1's JWT grant not revoked: %+v, %v", g, err)
		}
		if !e.active(theirs.AccessToken, other.ClientID, other.ClientSecret) {
			t.Fatal("user-2's tokens were revoked")
		}
	})
}

func TestRedirectURISecurity(t *testing.T) {
	tests := []struct {
		uri  string
		want bool
	}{
		{"https://app.example/cb", true},
		{"http://127.0.0.1:5000/cb", true},
		{"http://[::1]/cb", true},
		{"http://localhost:3000/cb", true},
		{"com.example.app:/oauth2redirect", true},
		{"http://app.example/cb", false},
		{"myapp://cb", false},
		{"javascript:alert(1)", false},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			u, err := url.Parse(tt.uri)
			if err != nil {
				t.Fatal(err)
			}
			if got := isRedirectURISecure(context.Background(), u); got != tt.want {
				t.Fatalf("secure = %v, want %v", got, tt.want)
			}
		})
	}
}

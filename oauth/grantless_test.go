package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// TestClientCredentialsTokensAreGrantless: a client_credentials token
// writes no grant row (a JWT writes nothing, an opaque token its one row),
// yet every revocation still bites: RFC 7009 of one token revokes that
// token only, and revoking all of the client's tokens (RevokeGrants by
// client, what `sesame tokens revoke --client` and the admin API do)
// revokes every token issued so far and none issued afterwards.
func TestClientCredentialsTokensAreGrantless(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		for _, format := range []string{FormatJWT, FormatOpaque} {
			t.Run(format, func(t *testing.T) {
				c, sec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}, Scopes: []string{"api"}, AccessTokenFormat: format})
				issue := func() string {
					t.Helper()
					r := e.clientCredentials(c.ID, sec, url.Values{"scope": {"api"}})
					mustToken(t, r)
					return r.str("access_token")
				}
				a, b2 := issue(), issue()

				grants, err := e.store.ListGrants(ctx, storage.GrantFilter{ClientID: c.ID})
				if err != nil || len(grants) != 0 {
					t.Fatalf("grant rows for client_credentials tokens: %+v (%v)", grants, err)
				}
				rid := e.accessRequestID(a, format)
				if !strings.HasPrefix(rid, clientGrantPrefix) {
					t.Fatalf("request id %q lacks the %q prefix", rid, clientGrantPrefix)
				}
				wantRows := map[string]int{FormatJWT: 0, FormatOpaque: 1}[format]
				if n := e.accessRows(rid); n != wantRows {
					t.Fatalf("%d access-token rows, want %d", n, wantRows)
				}
				for _, tok := range []string{a, b2} {
					if !e.active(tok, c.ID, sec) {
						t.Fatal("fresh token inactive")
					}
				}

				// RFC 7009 of one token: that one only.
				if r := e.post(PathRevoke, url.Values{"token": {a}}, c.ID, sec); r.status != http.StatusOK {
					t.Fatalf("revoke: %d %s", r.status, r.raw)
				}
				if e.active(a, c.ID, sec) {
					t.Fatal("revoked token active")
				}
				if !e.active(b2, c.ID, sec) {
					t.Fatal("revoking one token revoked its sibling")
				}
				if at, err := e.store.ClientTokensRevokedAt(ctx, c.ID); err != nil || !at.IsZero() {
					t.Fatalf("one token's revocation recorded a client-wide instant %v (%v)", at, err)
				}

				// Every token of the client, then a new one lives.
				if _, err := e.h.RevokeGrants(ctx, storage.GrantFilter{ClientID: c.ID}, "test"); err != nil {
					t.Fatal(err)
				}
				if e.active(b2, c.ID, sec) {
					t.Fatal("token active after all of its client's tokens were revoked")
				}
				if format == FormatJWT {
					// iat has whole seconds: a JWT of the revocation's
					// second counts as revoked, so issue in the next one.
					time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
				}
				after := issue()
				if !e.active(after, c.ID, sec) {
					t.Fatal("a token issued after the client-wide revocation is inactive")
				}
			})
		}

		t.Run("revocation is per client", func(t *testing.T) {
			x, xs := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}, AccessTokenFormat: FormatOpaque})
			y, ys := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}, AccessTokenFormat: FormatOpaque})
			tx, ty := e.clientCredentials(x.ID, xs, nil), e.clientCredentials(y.ID, ys, nil)
			mustToken(t, tx)
			mustToken(t, ty)
			if _, err := e.h.RevokeGrants(ctx, storage.GrantFilter{ClientID: x.ID}, "test"); err != nil {
				t.Fatal(err)
			}
			if e.active(tx.str("access_token"), x.ID, xs) {
				t.Fatal("x's token active after revoking x")
			}
			if !e.active(ty.str("access_token"), y.ID, ys) {
				t.Fatal("revoking x's tokens revoked y's")
			}
		})

		t.Run("the opaque row carries its client and has no grant", func(t *testing.T) {
			c, sec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}, AccessTokenFormat: FormatOpaque})
			r := e.clientCredentials(c.ID, sec, nil)
			mustToken(t, r)
			recs, err := e.store.ListByRequestID(ctx, storage.KindAccessToken, e.accessRequestID(r.str("access_token"), FormatOpaque))
			if err != nil || len(recs) != 1 || recs[0].ClientID != c.ID || !recs[0].Active {
				t.Fatalf("token row: %+v (%v)", recs, err)
			}
			if _, err := e.store.GetGrant(ctx, recs[0].RequestID); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("grant row for an opaque client_credentials token: %v", err)
			}
		})
	})
}

// accessRequestID is the request (grant) id behind an access token: the
// grant_id claim of a JWT, the row's request id of an opaque token.
func (e *env) accessRequestID(token, format string) string {
	e.t.Helper()
	if format == FormatJWT {
		_, claims := e.verifyJWT(token)
		gid, _ := claims["grant_id"].(string)
		return gid
	}
	sig := e.h.strategy.AccessTokenSignature(context.Background(), token)
	rec, err := e.store.GetToken(context.Background(), storage.KindAccessToken, secret.HashToken(sig))
	if err != nil {
		e.t.Fatalf("token row: %v", err)
	}
	return rec.RequestID
}

package storagetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

func grant(requestID, subject, clientID string) storage.Grant {
	return storage.Grant{
		RequestID:  requestID,
		ClientID:   clientID,
		Subject:    subject,
		SessionID:  "sess-" + subject,
		GrantType:  "authorization_code",
		Scopes:     []string{"openid", "offline_access"},
		Audience:   []string{"https://api.test"},
		CreatedAt:  base.In(zone),
		LastUsedAt: base,
		ExpiresAt:  at(30 * 24 * time.Hour),
	}
}

// us returns base shifted by d at microsecond precision, which every
// backend keeps exactly, for checks that compare instants with Equal.
func us(d time.Duration) time.Time { return at(d).Truncate(time.Microsecond) }

func grantIDs(gs []storage.Grant) []string {
	out := make([]string, 0, len(gs))
	for _, g := range gs {
		out = append(out, g.RequestID)
	}
	return out
}

func testGrants(t *testing.T, h Harness) {
	t.Run("create then get every field", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		g := grant("req-1", "user-1", "client-1")
		cc := storage.Grant{RequestID: "req-cc", ClientID: "client-1", Subject: "client-1", GrantType: "client_credentials",
			CreatedAt: base, LastUsedAt: base, ExpiresAt: at(time.Hour)}
		for _, want := range []storage.Grant{g, cc} {
			ok(t, s.CreateGrant(ctx, want), "CreateGrant "+want.RequestID)
			got, err := s.GetGrant(ctx, want.RequestID)
			ok(t, err, "GetGrant "+want.RequestID)
			checkRecord(t, "grant "+want.RequestID, want, got)
		}
		_, err := s.GetGrant(ctx, "req-nope")
		wantErr(t, err, storage.ErrNotFound, "GetGrant of a missing grant")
	})

	t.Run("create is idempotent on the request id and keeps the first values", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		first := grant("req-1", "user-1", "client-1")
		ok(t, s.CreateGrant(ctx, first), "CreateGrant")
		second := grant("req-1", "user-2", "client-2")
		second.Scopes, second.ExpiresAt, second.GrantType = []string{"email"}, at(time.Hour), "refresh_token"
		ok(t, s.CreateGrant(ctx, second), "second CreateGrant with the same request id")
		got, err := s.GetGrant(ctx, "req-1")
		ok(t, err, "GetGrant")
		checkRecord(t, "grant after the second create", first, got)
	})

	t.Run("lock holds the family until the locking transaction ends", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateGrant(ctx, grant("req-1", "user-1", "client-1")), "CreateGrant")
		wantErr(t, s.LockGrant(ctx, "req-nope"), storage.ErrNotFound, "LockGrant of a missing grant")
		locked, done := make(chan struct{}), make(chan error, 1)
		touched := at(5 * time.Minute)
		go func() {
			done <- storage.InTx(ctx, s, func(ctx context.Context) error {
				if err := s.LockGrant(ctx, "req-1"); err != nil {
					return err
				}
				close(locked)
				time.Sleep(200 * time.Millisecond)
				return s.TouchGrant(ctx, "req-1", touched, at(time.Hour))
			})
		}()
		<-locked
		// A second locker must wait for the first to commit, and then see
		// its write: this is what serialises refreshes of one family.
		var seen time.Time
		ok(t, storage.InTx(ctx, s, func(ctx context.Context) error {
			if err := s.LockGrant(ctx, "req-1"); err != nil {
				return err
			}
			g, err := s.GetGrant(ctx, "req-1")
			seen = g.LastUsedAt
			return err
		}), "second LockGrant")
		ok(t, <-done, "first transaction")
		if d := seen.Sub(touched); d < -time.Millisecond || d > time.Millisecond { // Postgres keeps µs
			t.Fatalf("the second locker read last_used_at %v before the first committed %v", seen, touched)
		}
	})

	t.Run("touch sets last use and only ever raises expiry", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		g := grant("req-1", "user-1", "client-1")
		g.ExpiresAt = at(10 * time.Hour)
		ok(t, s.CreateGrant(ctx, g), "CreateGrant")
		steps := []struct {
			name               string
			lastUsed, expires  time.Time
			wantLast, wantExpr time.Time
		}{
			{"later expiry raises it", at(time.Hour), at(20 * time.Hour), at(time.Hour), at(20 * time.Hour)},
			{"earlier expiry keeps it", at(2 * time.Hour), at(5 * time.Hour), at(2 * time.Hour), at(20 * time.Hour)},
			{"same expiry keeps it", at(3 * time.Hour), at(20 * time.Hour), at(3 * time.Hour), at(20 * time.Hour)},
		}
		for _, st := range steps {
			ok(t, s.TouchGrant(ctx, "req-1", st.lastUsed, st.expires), "TouchGrant: "+st.name)
			got, err := s.GetGrant(ctx, "req-1")
			ok(t, err, "GetGrant")
			want := g
			want.LastUsedAt, want.ExpiresAt = st.wantLast, st.wantExpr
			checkRecord(t, "grant after touch: "+st.name, want, got)
		}
	})

	t.Run("revoke is idempotent and keeps the first revocation time", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		g := grant("req-1", "user-1", "client-1")
		ok(t, s.CreateGrant(ctx, g), "CreateGrant")
		ok(t, s.RevokeGrant(ctx, "req-1", "user_logout", at(time.Hour)), "RevokeGrant")
		got, err := s.GetGrant(ctx, "req-1")
		ok(t, err, "GetGrant")
		want := g
		want.RevokedAt, want.RevokeReason = ptr(at(time.Hour)), "user_logout"
		checkRecord(t, "revoked grant", want, got)

		ok(t, s.RevokeGrant(ctx, "req-1", "admin", at(5*time.Hour)), "second RevokeGrant")
		got, err = s.GetGrant(ctx, "req-1")
		ok(t, err, "GetGrant")
		if got.RevokedAt == nil || !sameTime(*got.RevokedAt, at(time.Hour)) {
			t.Errorf("RevokedAt after the second revoke = %v, want the first %v", got.RevokedAt, at(time.Hour))
		}
		wantErr(t, s.RevokeGrant(ctx, "req-nope", "x", base), storage.ErrNotFound, "RevokeGrant of a missing grant")
	})

	t.Run("revoke many returns exactly the matching unrevoked grants", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		for _, g := range []storage.Grant{
			grant("g1", "u1", "c1"), grant("g2", "u1", "c2"), grant("g3", "u2", "c1"), grant("g4", "u1", "c1"),
			grant("g5", "u3", "c3"), grant("g6", "u3", "c4"), grant("g7", "u4", "c3"),
		} {
			ok(t, s.CreateGrant(ctx, g), "CreateGrant "+g.RequestID)
		}
		ok(t, s.RevokeGrant(ctx, "g4", "earlier", base), "RevokeGrant g4")

		ids, err := s.RevokeGrants(ctx, storage.GrantFilter{Subject: "u1"}, "user_disabled", at(time.Hour))
		ok(t, err, "RevokeGrants subject u1")
		sortedEqual(t, "RevokeGrants subject u1", ids, []string{"g1", "g2"})
		ids, err = s.RevokeGrants(ctx, storage.GrantFilter{ClientID: "c1"}, "client_deleted", at(2*time.Hour))
		ok(t, err, "RevokeGrants client c1")
		sortedEqual(t, "RevokeGrants client c1 (g1 and g4 already revoked)", ids, []string{"g3"})
		ids, err = s.RevokeGrants(ctx, storage.GrantFilter{Subject: "u3", ClientID: "c3"}, "both", at(3*time.Hour))
		ok(t, err, "RevokeGrants subject u3 and client c3")
		sortedEqual(t, "RevokeGrants subject u3 and client c3", ids, []string{"g5"})
		ids, err = s.RevokeGrants(ctx, storage.GrantFilter{Subject: "u1"}, "again", at(4*time.Hour))
		ok(t, err, "second RevokeGrants subject u1")
		sortedEqual(t, "second RevokeGrants subject u1", ids, nil)

		wantRevoked := map[string]time.Time{"g1": at(time.Hour), "g2": at(time.Hour), "g3": at(2 * time.Hour), "g4": base, "g5": at(3 * time.Hour)}
		for _, id := range []string{"g1", "g2", "g3", "g4", "g5", "g6", "g7"} {
			got, err := s.GetGrant(ctx, id)
			ok(t, err, "GetGrant "+id)
			want, revoked := wantRevoked[id]
			switch {
			case !revoked && got.RevokedAt != nil:
				t.Errorf("%s revoked at %v although it matched no filter", id, got.RevokedAt)
			case revoked && (got.RevokedAt == nil || !sameTime(*got.RevokedAt, want)):
				t.Errorf("%s RevokedAt = %v, want %v", id, got.RevokedAt, want)
			}
		}
	})

	t.Run("client token revocation keeps the latest instant per client", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		revokedAt := func(clientID string, want time.Time, what string) {
			t.Helper()
			got, err := s.ClientTokensRevokedAt(ctx, clientID)
			ok(t, err, "ClientTokensRevokedAt "+clientID)
			if !got.Equal(want) {
				t.Errorf("%s: ClientTokensRevokedAt(%s) = %v, want %v", what, clientID, got, want)
			}
		}
		revokedAt("c1", time.Time{}, "never revoked")
		ok(t, s.RevokeClientTokens(ctx, "c1", us(time.Hour).In(zone)), "RevokeClientTokens c1")
		revokedAt("c1", us(time.Hour), "after the first revocation")
		ok(t, s.RevokeClientTokens(ctx, "c1", us(time.Minute)), "RevokeClientTokens c1 earlier")
		revokedAt("c1", us(time.Hour), "an earlier instant does not move it back")
		ok(t, s.RevokeClientTokens(ctx, "c1", us(2*time.Hour)), "RevokeClientTokens c1 later")
		revokedAt("c1", us(2*time.Hour), "a later instant wins")
		revokedAt("c2", time.Time{}, "another client")
		ok(t, s.RevokeClientTokens(ctx, "c2", us(time.Minute)), "RevokeClientTokens c2")
		revokedAt("c2", us(time.Minute), "c2 after its own revocation")
		revokedAt("c1", us(2*time.Hour), "c1 after c2's revocation")
	})

	t.Run("revoking a client's grants stamps its revocation instant", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		for _, g := range []storage.Grant{grant("g1", "u1", "c1"), grant("g2", "u2", "c1"), grant("g3", "u1", "c2")} {
			ok(t, s.CreateGrant(ctx, g), "CreateGrant "+g.RequestID)
		}
		revokedAt := func(clientID string, want time.Time, what string) {
			t.Helper()
			got, err := s.ClientTokensRevokedAt(ctx, clientID)
			ok(t, err, "ClientTokensRevokedAt "+clientID)
			if !got.Equal(want) {
				t.Errorf("%s: ClientTokensRevokedAt(%s) = %v, want %v", what, clientID, got, want)
			}
		}

		ids, err := s.RevokeGrants(ctx, storage.GrantFilter{Subject: "u1", ClientID: "c1"}, "user", us(time.Hour))
		ok(t, err, "RevokeGrants subject u1 client c1")
		sortedEqual(t, "RevokeGrants subject u1 client c1", ids, []string{"g1"})
		revokedAt("c1", time.Time{}, "a filter on subject and client revokes one user's grants only")
		ids, err = s.RevokeGrants(ctx, storage.GrantFilter{Subject: "u1"}, "user", us(time.Hour))
		ok(t, err, "RevokeGrants subject u1")
		sortedEqual(t, "RevokeGrants subject u1", ids, []string{"g3"})
		revokedAt("c2", time.Time{}, "a filter on the subject alone")

		// In a transaction that fails, the instant goes with the grants.
		err = storage.InTx(ctx, s, func(ctx context.Context) error {
			if _, err := s.RevokeGrants(ctx, storage.GrantFilter{ClientID: "c1"}, "client", us(3*time.Hour)); err != nil {
				return err
			}
			return errBoom
		})
		wantErr(t, err, errBoom, "InTx revoking client c1 then failing")
		revokedAt("c1", time.Time{}, "after the rolled-back revocation")
		if g, err := s.GetGrant(ctx, "g2"); err != nil || g.RevokedAt != nil {
			t.Errorf("g2 after the rolled-back revocation: RevokedAt %v, err %v; want unrevoked", g.RevokedAt, err)
		}

		ids, err = s.RevokeGrants(ctx, storage.GrantFilter{ClientID: "c1"}, "client", us(2*time.Hour).In(zone))
		ok(t, err, "RevokeGrants client c1")
		sortedEqual(t, "RevokeGrants client c1 (only real grants)", ids, []string{"g2"})
		revokedAt("c1", us(2*time.Hour), "after revoking every grant of c1")
		revokedAt("c2", time.Time{}, "another client")
		ids, err = s.RevokeGrants(ctx, storage.GrantFilter{ClientID: "c1"}, "client", us(time.Minute))
		ok(t, err, "RevokeGrants client c1 earlier")
		sortedEqual(t, "RevokeGrants client c1 again", ids, nil)
		revokedAt("c1", us(2*time.Hour), "an earlier revocation does not move the instant back")

		// A client with no grant at all (client_credentials only) is stamped too.
		ids, err = s.RevokeGrants(ctx, storage.GrantFilter{ClientID: "c3"}, "client", us(4*time.Hour))
		ok(t, err, "RevokeGrants client c3")
		sortedEqual(t, "RevokeGrants client c3", ids, nil)
		revokedAt("c3", us(4*time.Hour), "a client without grants")
	})

	t.Run("list filters by subject, client and activity", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		now := at(10 * time.Hour)
		mk := func(id, sub, cl string, exp time.Time) storage.Grant {
			g := grant(id, sub, cl)
			g.ExpiresAt = exp
			return g
		}
		for _, g := range []storage.Grant{
			mk("live", "u1", "c1", now.Add(time.Hour).In(zone)),
			mk("expired", "u1", "c1", now.Add(-time.Minute)),
			mk("revoked", "u1", "c2", now.Add(time.Hour)),
			mk("other-user", "u2", "c1", now.Add(time.Hour)),
		} {
			ok(t, s.CreateGrant(ctx, g), "CreateGrant "+g.RequestID)
		}
		ok(t, s.RevokeGrant(ctx, "revoked", "x", at(time.Hour)), "RevokeGrant")
		cases := []struct {
			name string
			f    storage.GrantFilter
			want []string
		}{
			{"no filter", storage.GrantFilter{}, []string{"live", "expired", "revoked", "other-user"}},
			{"subject", storage.GrantFilter{Subject: "u1"}, []string{"live", "expired", "revoked"}},
			{"client", storage.GrantFilter{ClientID: "c1"}, []string{"live", "expired", "other-user"}},
			{"subject and client", storage.GrantFilter{Subject: "u1", ClientID: "c1"}, []string{"live", "expired"}},
			{"active only", storage.GrantFilter{ActiveOnly: true, Now: now}, []string{"live", "other-user"}},
			{"active only for a subject", storage.GrantFilter{Subject: "u1", ActiveOnly: true, Now: now}, []string{"live"}},
			{"unknown subject", storage.GrantFilter{Subject: "nobody"}, nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				gs, err := s.ListGrants(ctx, c.f)
				ok(t, err, "ListGrants")
				sortedEqual(t, "ListGrants "+c.name, grantIDs(gs), c.want)
			})
		}
		gs, err := s.ListGrants(ctx, storage.GrantFilter{Subject: "u2"})
		ok(t, err, "ListGrants")
		if len(gs) == 1 {
			checkRecord(t, "listed grant", mk("other-user", "u2", "c1", now.Add(time.Hour)), gs[0])
		}
	})

	t.Run("delete expired honours before and the batch limit", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		for i, exp := range []time.Time{at(-time.Hour).In(zone), at(-time.Minute), at(-48 * time.Hour), at(time.Hour), at(time.Minute).In(zone)} {
			g := grant(fmt.Sprintf("g%d", i), "u1", "c1")
			g.ExpiresAt = exp
			ok(t, s.CreateGrant(ctx, g), "CreateGrant")
		}
		for round, want := range []int{2, 1, 0} {
			n, err := s.DeleteExpiredGrants(ctx, base, 2)
			wantCount(t, n, err, want, fmt.Sprintf("DeleteExpiredGrants limit 2, round %d", round+1))
		}
		gs, err := s.ListGrants(ctx, storage.GrantFilter{})
		ok(t, err, "ListGrants")
		sortedEqual(t, "grants left", grantIDs(gs), []string{"g3", "g4"})
	})
}

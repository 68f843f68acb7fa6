package storagetest

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// binary is opaque data with bytes that do not survive a text column (NUL,
// invalid UTF-8): Data and Successor must be stored verbatim.
var binary = []byte{0x00, 0xff, 0xfe, '{', '"', 0x80, 0x00, '\n', 0xc3}

// token returns an active record of kind with every field but FirstUsedAt
// and Successor set.
func token(kind storage.TokenKind, sig, requestID string, requested time.Time) storage.TokenRecord {
	return storage.TokenRecord{
		Kind:        kind,
		Signature:   sig,
		RequestID:   requestID,
		ClientID:    "client-1",
		Subject:     "user-1",
		Active:      true,
		RequestedAt: requested,
		ExpiresAt:   requested.Add(time.Hour),
		Data:        append([]byte(sig+":"), binary...),
	}
}

func tokenSigs(rs []storage.TokenRecord) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Signature)
	}
	return out
}

func testTokens(t *testing.T, h Harness) {
	t.Run("create then get every field", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		rt := token(storage.KindRefreshToken, "sig-rt", "req-1", base.In(zone))
		rt.AccessSignature = "sig-at"
		used := token(storage.KindAccessToken, "sig-used", "req-1", base)
		used.FirstUsedAt, used.Successor = ptr(at(time.Minute)), []byte{0x01, 0x00, 0x02}
		empty := token(storage.KindOIDC, "sig-empty", "req-1", base)
		empty.Data = []byte{}
		for _, rec := range []storage.TokenRecord{rt, used, empty} {
			ok(t, s.CreateToken(ctx, rec), "CreateToken "+rec.Signature)
			got, err := s.GetToken(ctx, rec.Kind, rec.Signature)
			ok(t, err, "GetToken "+rec.Signature)
			checkRecord(t, "token "+rec.Signature, rec, got)
		}
	})

	t.Run("same signature in different kinds is allowed", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		kinds := []storage.TokenKind{storage.KindAuthorizeCode, storage.KindAccessToken, storage.KindRefreshToken, storage.KindPKCE, storage.KindOIDC}
		for _, k := range kinds {
			rec := token(k, "shared", "req-"+string(k), base)
			ok(t, s.CreateToken(ctx, rec), "CreateToken kind "+string(k))
		}
		for _, k := range kinds {
			got, err := s.GetToken(ctx, k, "shared")
			ok(t, err, "GetToken kind "+string(k))
			if got.Kind != k || got.RequestID != "req-"+string(k) {
				t.Errorf("GetToken(%s) returned kind %s request %s", k, got.Kind, got.RequestID)
			}
		}
	})

	t.Run("duplicate kind and signature conflicts", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		first := token(storage.KindAccessToken, "sig", "req-1", base)
		ok(t, s.CreateToken(ctx, first), "CreateToken")
		wantErr(t, s.CreateToken(ctx, token(storage.KindAccessToken, "sig", "req-2", at(time.Hour))), storage.ErrConflict, "second CreateToken")
		got, err := s.GetToken(ctx, storage.KindAccessToken, "sig")
		ok(t, err, "GetToken")
		checkRecord(t, "token after the refused create", first, got)
	})

	t.Run("create many inserts every record", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		rt := token(storage.KindRefreshToken, "b-rt", "req-1", base.In(zone))
		rt.AccessSignature = "b-at"
		used := token(storage.KindAccessToken, "b-used", "req-2", at(time.Second))
		used.Active, used.FirstUsedAt, used.Successor = false, ptr(at(time.Minute)), []byte{0x01, 0x00, 0x02}
		recs := []storage.TokenRecord{
			token(storage.KindAccessToken, "b-at", "req-1", base),
			rt,
			used,
			token(storage.KindOIDC, "b-at", "req-1", base), // same signature, other kind
		}
		ok(t, s.CreateTokens(ctx, recs), "CreateTokens")
		for _, rec := range recs {
			got, err := s.GetToken(ctx, rec.Kind, rec.Signature)
			ok(t, err, "GetToken "+string(rec.Kind)+" "+rec.Signature)
			checkRecord(t, "token "+string(rec.Kind)+" "+rec.Signature, rec, got)
		}
		ok(t, s.CreateTokens(ctx, nil), "CreateTokens of a nil batch")
		ok(t, s.CreateTokens(ctx, []storage.TokenRecord{}), "CreateTokens of an empty batch")
	})

	t.Run("create many with a stored signature conflicts and inserts none", func(t *testing.T) {
		// The stored duplicate sits first, in the middle and last: a backend
		// that inserts row by row must undo the rows before it too.
		for _, pos := range []int{0, 2, 4} {
			t.Run(fmt.Sprintf("duplicate at %d", pos), func(t *testing.T) {
				s, ctx := h.New(t), t.Context()
				stored := token(storage.KindAccessToken, "sig-stored", "req-old", base)
				ok(t, s.CreateToken(ctx, stored), "CreateToken")
				var batch []storage.TokenRecord
				for i := range 4 {
					batch = append(batch, token(storage.KindAccessToken, fmt.Sprintf("sig-new-%d", i), "req-new", at(time.Minute)))
				}
				dup := token(storage.KindAccessToken, "sig-stored", "req-new", at(time.Minute))
				batch = append(batch[:pos], append([]storage.TokenRecord{dup}, batch[pos:]...)...)
				wantErr(t, s.CreateTokens(ctx, batch), storage.ErrConflict, "CreateTokens with a stored signature")
				for _, rec := range batch {
					if rec.Signature == stored.Signature {
						continue
					}
					_, err := s.GetToken(ctx, rec.Kind, rec.Signature)
					wantErr(t, err, storage.ErrNotFound, "GetToken "+rec.Signature+" of the refused batch")
				}
				got, err := s.GetToken(ctx, stored.Kind, stored.Signature)
				ok(t, err, "GetToken of the stored record")
				checkRecord(t, "stored token after the refused batch", stored, got)
				usable(t, s, "u-after")
			})
		}
	})

	t.Run("create many with a duplicate inside the batch conflicts and inserts none", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		batch := []storage.TokenRecord{
			token(storage.KindRefreshToken, "sig-a", "req-1", base),
			token(storage.KindRefreshToken, "sig-b", "req-1", base),
			token(storage.KindRefreshToken, "sig-a", "req-2", at(time.Minute)),
		}
		wantErr(t, s.CreateTokens(ctx, batch), storage.ErrConflict, "CreateTokens with a repeated signature")
		for _, sig := range []string{"sig-a", "sig-b"} {
			_, err := s.GetToken(ctx, storage.KindRefreshToken, sig)
			wantErr(t, err, storage.ErrNotFound, "GetToken "+sig+" of the refused batch")
		}
		ok(t, s.CreateTokens(ctx, batch[:2]), "CreateTokens of the same batch without the repeat")
	})

	t.Run("create many in a transaction commits and rolls back with it", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		batch := []storage.TokenRecord{
			token(storage.KindAccessToken, "sig-1", "req-1", base),
			token(storage.KindRefreshToken, "sig-1", "req-1", base),
		}
		err := storage.InTx(ctx, s, func(ctx context.Context) error {
			if err := s.CreateTokens(ctx, batch); err != nil {
				return err
			}
			if _, err := s.GetToken(ctx, storage.KindRefreshToken, "sig-1"); err != nil {
				return fmt.Errorf("read back inside the transaction: %w", err)
			}
			return errBoom
		})
		wantErr(t, err, errBoom, "InTx returning an error after CreateTokens")
		for _, rec := range batch {
			_, err := s.GetToken(ctx, rec.Kind, rec.Signature)
			wantErr(t, err, storage.ErrNotFound, "GetToken "+string(rec.Kind)+" after the rollback")
		}
		usable(t, s, "u-after")

		err = storage.InTx(ctx, s, func(ctx context.Context) error {
			if err := s.CreateUser(ctx, user("u-1", "alice")); err != nil {
				return err
			}
			return s.CreateTokens(ctx, batch)
		})
		ok(t, err, "InTx with CreateTokens")
		for _, rec := range batch {
			got, err := s.GetToken(ctx, rec.Kind, rec.Signature)
			ok(t, err, "GetToken "+string(rec.Kind)+" after the commit")
			checkRecord(t, "token committed with the transaction", rec, got)
		}
	})

	t.Run("missing and deleted", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		_, err := s.GetToken(ctx, storage.KindAccessToken, "nope")
		wantErr(t, err, storage.ErrNotFound, "GetToken")
		ok(t, s.DeleteToken(ctx, storage.KindAccessToken, "nope"), "DeleteToken of a missing record")
		ok(t, s.CreateToken(ctx, token(storage.KindAccessToken, "sig", "req-1", base)), "CreateToken access")
		ok(t, s.CreateToken(ctx, token(storage.KindRefreshToken, "sig", "req-1", base)), "CreateToken refresh")
		ok(t, s.DeleteToken(ctx, storage.KindAccessToken, "sig"), "DeleteToken")
		_, err = s.GetToken(ctx, storage.KindAccessToken, "sig")
		wantErr(t, err, storage.ErrNotFound, "GetToken after delete")
		_, err = s.GetToken(ctx, storage.KindRefreshToken, "sig")
		ok(t, err, "GetToken of the same signature in another kind")
	})

	t.Run("get carries the client's revocation instant", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		mk := func(sig, clientID string) storage.TokenRecord {
			r := token(storage.KindAccessToken, sig, "req-"+sig, base)
			r.ClientID = clientID
			return r
		}
		revokedAt := func(sig string, want time.Time, what string) {
			t.Helper()
			got, err := s.GetToken(ctx, storage.KindAccessToken, sig)
			ok(t, err, "GetToken "+sig)
			if !got.ClientRevokedAt.Equal(want) {
				t.Errorf("%s: GetToken(%s).ClientRevokedAt = %v, want %v", what, sig, got.ClientRevokedAt, want)
			}
			if got.Signature != sig || got.ClientID == "" {
				t.Errorf("%s: GetToken(%s) returned signature %q client %q", what, sig, got.Signature, got.ClientID)
			}
		}

		// The field is read-only: a value on the input is not stored.
		ignored := mk("at-ignored", "c3")
		ignored.ClientRevokedAt = us(time.Hour)
		ok(t, s.CreateToken(ctx, ignored), "CreateToken with ClientRevokedAt set")
		batched := mk("at-batched", "c3")
		batched.ClientRevokedAt = us(time.Hour)
		ok(t, s.CreateTokens(ctx, []storage.TokenRecord{batched}), "CreateTokens with ClientRevokedAt set")
		ok(t, s.CreateToken(ctx, mk("at-c1", "c1")), "CreateToken c1")
		ok(t, s.CreateToken(ctx, mk("at-c2", "c2")), "CreateToken c2")
		revokedAt("at-ignored", time.Time{}, "CreateToken ignores the input's instant")
		revokedAt("at-batched", time.Time{}, "CreateTokens ignores the input's instant")
		revokedAt("at-c1", time.Time{}, "a client never revoked")

		ok(t, s.RevokeClientTokens(ctx, "c1", us(time.Hour).In(zone)), "RevokeClientTokens c1")
		revokedAt("at-c1", us(time.Hour), "after RevokeClientTokens")
		revokedAt("at-c2", time.Time{}, "another client after RevokeClientTokens c1")
		ok(t, s.RevokeClientTokens(ctx, "c1", us(time.Minute)), "RevokeClientTokens c1 earlier")
		revokedAt("at-c1", us(time.Hour), "an earlier instant does not move it back")

		_, err := s.RevokeGrants(ctx, storage.GrantFilter{ClientID: "c2"}, "client_deleted", us(2*time.Hour))
		ok(t, err, "RevokeGrants client c2")
		revokedAt("at-c2", us(2*time.Hour), "after RevokeGrants of the client")
		revokedAt("at-c1", us(time.Hour), "c1 after RevokeGrants of c2")
		revokedAt("at-ignored", time.Time{}, "c3 after the other clients' revocations")

		// Inside a transaction the read sees the transaction's own write.
		err = storage.InTx(ctx, s, func(ctx context.Context) error {
			if err := s.RevokeClientTokens(ctx, "c3", us(3*time.Hour)); err != nil {
				return err
			}
			got, err := s.GetToken(ctx, storage.KindAccessToken, "at-batched")
			if err != nil {
				return err
			}
			if !got.ClientRevokedAt.Equal(us(3 * time.Hour)) {
				t.Errorf("GetToken in the revoking transaction: ClientRevokedAt = %v, want %v", got.ClientRevokedAt, us(3*time.Hour))
			}
			return errBoom
		})
		wantErr(t, err, errBoom, "InTx")
		revokedAt("at-batched", time.Time{}, "after the revoking transaction rolled back")
	})

	t.Run("deactivate: first wins, second conflicts", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		rec := token(storage.KindRefreshToken, "sig", "req-1", base)
		ok(t, s.CreateToken(ctx, rec), "CreateToken")
		succ := []byte{0x00, 's', 'u', 'c', 0xff}
		ok(t, s.DeactivateToken(ctx, storage.KindRefreshToken, "sig", at(time.Minute), succ), "first DeactivateToken")
		got, err := s.GetToken(ctx, storage.KindRefreshToken, "sig")
		ok(t, err, "GetToken of an inactive record")
		want := rec
		want.Active, want.FirstUsedAt, want.Successor = false, ptr(at(time.Minute)), succ
		checkRecord(t, "token after the first deactivation", want, got)

		wantErr(t, s.DeactivateToken(ctx, storage.KindRefreshToken, "sig", at(time.Hour), []byte("other")), storage.ErrConflict,
			"second DeactivateToken")
		got, err = s.GetToken(ctx, storage.KindRefreshToken, "sig")
		ok(t, err, "GetToken")
		checkRecord(t, "token after the refused deactivation", want, got)

		wantErr(t, s.DeactivateToken(ctx, storage.KindRefreshToken, "nope", base, nil), storage.ErrNotFound, "DeactivateToken of a missing record")
		wantErr(t, s.DeactivateToken(ctx, storage.KindAccessToken, "sig", base, nil), storage.ErrNotFound, "DeactivateToken in another kind")
	})

	t.Run("deactivate keeps an earlier FirstUsedAt and a nil successor stores nothing", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		rec := token(storage.KindRefreshToken, "sig", "req-1", base)
		rec.FirstUsedAt = ptr(at(time.Second))
		ok(t, s.CreateToken(ctx, rec), "CreateToken")
		ok(t, s.DeactivateToken(ctx, storage.KindRefreshToken, "sig", at(time.Hour), nil), "DeactivateToken")
		got, err := s.GetToken(ctx, storage.KindRefreshToken, "sig")
		ok(t, err, "GetToken")
		want := rec
		want.Active = false
		checkRecord(t, "token after deactivation", want, got)
	})

	t.Run("concurrent deactivation: exactly one of 8 wins", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateToken(ctx, token(storage.KindRefreshToken, "sig", "req-1", base)), "CreateToken")
		errs := contend(8, func(i int) error {
			return s.DeactivateToken(ctx, storage.KindRefreshToken, "sig", at(time.Duration(i+1)*time.Second), fmt.Appendf(nil, "successor-%d", i))
		})
		w := oneWinner(t, errs, storage.ErrConflict, "DeactivateToken")
		got, err := s.GetToken(ctx, storage.KindRefreshToken, "sig")
		ok(t, err, "GetToken")
		if got.Active {
			t.Error("token still active after the race")
		}
		if w >= 0 {
			if want := fmt.Appendf(nil, "successor-%d", w); !bytes.Equal(got.Successor, want) {
				t.Errorf("successor %q, want the winner's %q", got.Successor, want)
			}
			if got.FirstUsedAt == nil || !sameTime(*got.FirstUsedAt, at(time.Duration(w+1)*time.Second)) {
				t.Errorf("FirstUsedAt %v, want the winner's %v", got.FirstUsedAt, at(time.Duration(w+1)*time.Second))
			}
		}
	})

	t.Run("family operations are scoped to kind and request id", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		// Family req-1: three access tokens (one already inactive) and a
		// refresh token; family req-2: one access token. Created in
		// RequestedAt order so "oldest first" is unambiguous.
		recs := []storage.TokenRecord{
			token(storage.KindAccessToken, "at-1", "req-1", at(1*time.Second)),
			token(storage.KindRefreshToken, "rt-1", "req-1", at(2*time.Second)),
			token(storage.KindAccessToken, "at-2", "req-1", at(3*time.Second)),
			token(storage.KindAccessToken, "at-other", "req-2", at(4*time.Second)),
			token(storage.KindAccessToken, "at-3", "req-1", at(5*time.Second)),
		}
		recs[4].Active = false
		for _, r := range recs {
			ok(t, s.CreateToken(ctx, r), "CreateToken "+r.Signature)
		}
		list := func(kind storage.TokenKind, req string) []string {
			t.Helper()
			rs, err := s.ListByRequestID(ctx, kind, req)
			ok(t, err, "ListByRequestID")
			return tokenSigs(rs)
		}
		orderedEqual(t, "ListByRequestID access req-1", list(storage.KindAccessToken, "req-1"), []string{"at-1", "at-2", "at-3"})
		orderedEqual(t, "ListByRequestID refresh req-1", list(storage.KindRefreshToken, "req-1"), []string{"rt-1"})
		orderedEqual(t, "ListByRequestID of an unknown family", list(storage.KindAccessToken, "req-nope"), nil)
		rs, err := s.ListByRequestID(ctx, storage.KindRefreshToken, "req-1")
		ok(t, err, "ListByRequestID")
		if len(rs) == 1 {
			checkRecord(t, "listed record", recs[1], rs[0])
		}

		n, err := s.DeactivateByRequestID(ctx, storage.KindAccessToken, "req-1")
		wantCount(t, n, err, 2, "DeactivateByRequestID access req-1 (rows that changed)")
		for sig, active := range map[string]bool{"at-1": false, "at-2": false, "at-3": false, "at-other": true} {
			got, err := s.GetToken(ctx, storage.KindAccessToken, sig)
			ok(t, err, "GetToken "+sig)
			if got.Active != active {
				t.Errorf("after DeactivateByRequestID, %s active=%v, want %v", sig, got.Active, active)
			}
		}
		got, err := s.GetToken(ctx, storage.KindRefreshToken, "rt-1")
		ok(t, err, "GetToken rt-1")
		if !got.Active {
			t.Error("DeactivateByRequestID(access) deactivated the family's refresh token")
		}
		n, err = s.DeactivateByRequestID(ctx, storage.KindAccessToken, "req-1")
		wantCount(t, n, err, 0, "second DeactivateByRequestID (nothing left to change)")

		n, err = s.DeleteByRequestID(ctx, storage.KindAccessToken, "req-1")
		wantCount(t, n, err, 3, "DeleteByRequestID access req-1")
		orderedEqual(t, "access req-1 after DeleteByRequestID", list(storage.KindAccessToken, "req-1"), nil)
		orderedEqual(t, "refresh req-1 after DeleteByRequestID(access)", list(storage.KindRefreshToken, "req-1"), []string{"rt-1"})
		orderedEqual(t, "access req-2 after DeleteByRequestID(req-1)", list(storage.KindAccessToken, "req-2"), []string{"at-other"})
		n, err = s.DeleteByRequestID(ctx, storage.KindAccessToken, "req-1")
		wantCount(t, n, err, 0, "second DeleteByRequestID")
	})

	t.Run("delete expired honours before and the batch limit", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		before := base
		whole := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC) // no fraction: breaks text comparison of RFC3339Nano
		type entry struct {
			sig  string
			exp  time.Time
			kind storage.TokenKind
		}
		expired := []entry{
			{"x-whole-second", whole, storage.KindAccessToken},
			{"x-other-zone", base.Add(-time.Hour).In(zone), storage.KindRefreshToken},
			{"x-day", base.Add(-24 * time.Hour), storage.KindAuthorizeCode},
			{"x-100ms", base.Add(-100 * time.Millisecond), storage.KindPKCE},
			{"x-2h", base.Add(-2 * time.Hour), storage.KindOIDC},
		}
		live := []entry{
			{"l-exactly-before", before, storage.KindAccessToken},
			{"l-next-second", whole.Add(time.Second), storage.KindRefreshToken},
			{"l-hour-zone", base.Add(time.Hour).In(zone), storage.KindAuthorizeCode},
		}
		for _, e := range append(append([]entry{}, expired...), live...) {
			r := token(e.kind, e.sig, "req-"+e.sig, e.exp.Add(-time.Hour))
			r.ExpiresAt = e.exp
			ok(t, s.CreateToken(ctx, r), "CreateToken "+e.sig)
		}
		for round, want := range []int{2, 2, 1, 0} {
			n, err := s.DeleteExpiredTokens(ctx, before, 2)
			wantCount(t, n, err, want, fmt.Sprintf("DeleteExpiredTokens limit 2, round %d", round+1))
		}
		for _, e := range expired {
			_, err := s.GetToken(ctx, e.kind, e.sig)
			wantErr(t, err, storage.ErrNotFound, "GetToken of expired "+e.sig)
		}
		for _, e := range live {
			if _, err := s.GetToken(ctx, e.kind, e.sig); err != nil {
				t.Errorf("GetToken of unexpired %s: %v (deleted although not expired before %v)", e.sig, err, before)
			}
		}
	})
}

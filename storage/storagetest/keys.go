package storagetest

import (
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// keyJSON names the SigningKey field holding a JSON document.
var keyJSON = []string{"PublicJWK"}

func pendingKey(kid, alg string, created time.Time) storage.SigningKey {
	return storage.SigningKey{
		KID:        kid,
		Alg:        alg,
		Use:        "sig",
		State:      storage.KeyPending,
		PublicJWK:  []byte(`{"kty":"EC","crv":"P-256","kid":"` + kid + `","x":"WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis","y":"y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE"}`),
		PrivateEnc: append([]byte("enc:"+kid+":"), binary...),
		CreatedAt:  created,
	}
}

func getKey(t *testing.T, s storage.Store, kid string) storage.SigningKey {
	t.Helper()
	k, err := s.GetKey(t.Context(), kid)
	ok(t, err, "GetKey "+kid)
	return k
}

func activeKIDs(t *testing.T, s storage.Store, alg string) []string {
	t.Helper()
	ks, err := s.ListKeys(t.Context())
	ok(t, err, "ListKeys")
	var out []string
	for _, k := range ks {
		if k.Alg == alg && k.State == storage.KeyActive {
			out = append(out, k.KID)
		}
	}
	return out
}

func testKeys(t *testing.T, h Harness) {
	t.Run("create, get, list oldest first, duplicate kid conflicts", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		keys := []storage.SigningKey{
			pendingKey("k1", "ES256", base.In(zone)),
			pendingKey("k2", "RS256", at(time.Second)),
			pendingKey("k3", "ES256", at(2*time.Second)),
		}
		for _, k := range keys {
			ok(t, s.CreateKey(ctx, k), "CreateKey "+k.KID)
		}
		checkRecord(t, "key k1", keys[0], getKey(t, s, "k1"), keyJSON...)
		ks, err := s.ListKeys(ctx)
		ok(t, err, "ListKeys")
		var kids []string
		for _, k := range ks {
			kids = append(kids, k.KID)
		}
		orderedEqual(t, "ListKeys", kids, []string{"k1", "k2", "k3"})
		if len(ks) == 3 {
			checkRecord(t, "listed key k2", keys[1], ks[1], keyJSON...)
		}

		wantErr(t, s.CreateKey(ctx, pendingKey("k1", "RS256", at(time.Hour))), storage.ErrConflict, "CreateKey with a duplicate kid")
		checkRecord(t, "key k1 after the refused create", keys[0], getKey(t, s, "k1"), keyJSON...)
		_, err = s.GetKey(ctx, "nope")
		wantErr(t, err, storage.ErrNotFound, "GetKey of a missing key")
	})

	t.Run("activate and rotate", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		k1 := pendingKey("k1", "ES256", base)
		ok(t, s.CreateKey(ctx, k1), "CreateKey k1")
		ok(t, s.ActivateKey(ctx, "k1", "", at(time.Minute), at(99*time.Hour)), "ActivateKey k1 with no previous key")
		want1 := k1
		want1.State, want1.ActivatedAt = storage.KeyActive, ptr(at(time.Minute))
		checkRecord(t, "k1 after activation", want1, getKey(t, s, "k1"), keyJSON...)

		k2 := pendingKey("k2", "ES256", at(time.Hour))
		ok(t, s.CreateKey(ctx, k2), "CreateKey k2")
		ok(t, s.ActivateKey(ctx, "k2", "k1", at(2*time.Hour), at(26*time.Hour)), "ActivateKey k2 replacing k1")
		want2 := k2
		want2.State, want2.ActivatedAt = storage.KeyActive, ptr(at(2*time.Hour))
		checkRecord(t, "k2 after rotation", want2, getKey(t, s, "k2"), keyJSON...)
		want1.State, want1.RetiredAt, want1.RetireAfter = storage.KeyRetired, ptr(at(2*time.Hour)), ptr(at(26*time.Hour))
		checkRecord(t, "k1 after rotation", want1, getKey(t, s, "k1"), keyJSON...)
		orderedEqual(t, "active ES256 keys", activeKIDs(t, s, "ES256"), []string{"k2"})

		// An algorithm's active key is independent of the others'.
		ok(t, s.CreateKey(ctx, pendingKey("r1", "RS256", at(3*time.Hour))), "CreateKey r1")
		ok(t, s.ActivateKey(ctx, "r1", "", at(3*time.Hour), at(30*time.Hour)), "ActivateKey RS256 with no previous RS256 key")
		orderedEqual(t, "active ES256 keys after activating RS256", activeKIDs(t, s, "ES256"), []string{"k2"})
		orderedEqual(t, "active RS256 keys", activeKIDs(t, s, "RS256"), []string{"r1"})
	})

	t.Run("stale or wrong activation conflicts and changes nothing", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		for _, k := range []storage.SigningKey{pendingKey("k1", "ES256", base), pendingKey("k2", "ES256", at(time.Second)), pendingKey("k3", "ES256", at(2*time.Second))} {
			ok(t, s.CreateKey(ctx, k), "CreateKey "+k.KID)
		}
		ok(t, s.ActivateKey(ctx, "k1", "", at(time.Minute), at(time.Hour)), "ActivateKey k1")
		ok(t, s.ActivateKey(ctx, "k2", "k1", at(2*time.Minute), at(time.Hour)), "ActivateKey k2")
		before, err := s.ListKeys(ctx)
		ok(t, err, "ListKeys")

		cases := []struct {
			name, kid, prev string
		}{
			{"previous key is not the active one", "k3", "k1"},
			{"previous key unknown", "k3", "k-unknown"},
			{"caller saw no active key but there is one", "k3", ""},
			{"key already active", "k2", "k2"},
			{"key retired", "k1", "k2"},
		}
		for _, c := range cases {
			wantErr(t, s.ActivateKey(ctx, c.kid, c.prev, at(time.Hour), at(5*time.Hour)), storage.ErrConflict, "ActivateKey: "+c.name)
		}
		after, err := s.ListKeys(ctx)
		ok(t, err, "ListKeys")
		if len(after) != len(before) {
			t.Fatalf("ListKeys returned %d keys, want %d", len(after), len(before))
		}
		for i := range before {
			checkRecord(t, "key "+before[i].KID+" after refused activations", before[i], after[i], keyJSON...)
		}
	})

	t.Run("concurrent activations from the same previous key: exactly one wins", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		for _, k := range []storage.SigningKey{pendingKey("k0", "ES256", base), pendingKey("ka", "ES256", at(time.Second)), pendingKey("kb", "ES256", at(2*time.Second))} {
			ok(t, s.CreateKey(ctx, k), "CreateKey "+k.KID)
		}
		ok(t, s.ActivateKey(ctx, "k0", "", base, at(time.Hour)), "ActivateKey k0")
		kids := []string{"ka", "kb"}
		errs := contend(2, func(i int) error {
			return s.ActivateKey(ctx, kids[i], "k0", at(time.Minute), at(time.Hour))
		})
		w := oneWinner(t, errs, storage.ErrConflict, "ActivateKey")
		if w < 0 {
			return
		}
		orderedEqual(t, "active ES256 keys after the race", activeKIDs(t, s, "ES256"), []string{kids[w]})
		if st := getKey(t, s, kids[1-w]).State; st != storage.KeyPending {
			t.Errorf("the losing key is %q, want still pending", st)
		}
		if st := getKey(t, s, "k0").State; st != storage.KeyRetired {
			t.Errorf("the previous key is %q, want retired", st)
		}
	})

	t.Run("delete", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateKey(ctx, pendingKey("k1", "ES256", base)), "CreateKey k1")
		ok(t, s.CreateKey(ctx, pendingKey("k2", "ES256", at(time.Second))), "CreateKey k2")
		ok(t, s.DeleteKey(ctx, "k1"), "DeleteKey")
		_, err := s.GetKey(ctx, "k1")
		wantErr(t, err, storage.ErrNotFound, "GetKey after delete")
		ks, err := s.ListKeys(ctx)
		ok(t, err, "ListKeys")
		if len(ks) != 1 || ks[0].KID != "k2" {
			t.Errorf("ListKeys after delete returned %d keys, want only k2", len(ks))
		}
	})
}

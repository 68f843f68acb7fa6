package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

func consent(userID, clientID string) storage.Consent {
	return storage.Consent{
		UserID:    userID,
		ClientID:  clientID,
		Scopes:    []string{"openid", "profile"},
		Audience:  []string{"https://api.test"},
		CreatedAt: base.In(zone),
		UpdatedAt: base,
	}
}

func consentClients(cs []storage.Consent) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.UserID+"/"+c.ClientID)
	}
	return out
}

func testConsents(t *testing.T, h Harness) {
	t.Run("upsert creates then replaces", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		first := consent("alice", "c1")
		ok(t, s.UpsertConsent(ctx, first), "UpsertConsent")
		got, err := s.GetConsent(ctx, "alice", "c1")
		ok(t, err, "GetConsent")
		checkRecord(t, "consent", first, got)

		second := consent("alice", "c1")
		second.Scopes, second.Audience, second.UpdatedAt = []string{"openid", "email", "offline_access"}, nil, at(time.Hour)
		ok(t, s.UpsertConsent(ctx, second), "second UpsertConsent")
		got, err = s.GetConsent(ctx, "alice", "c1")
		ok(t, err, "GetConsent")
		// Whether a replace keeps the first CreatedAt is not promised.
		second.CreatedAt = got.CreatedAt
		checkRecord(t, "replaced consent", second, got)
		cs, err := s.ListConsents(ctx, "alice")
		ok(t, err, "ListConsents")
		sortedEqual(t, "consents after two upserts of the same pair", consentClients(cs), []string{"alice/c1"})
	})

	t.Run("list by user, delete, missing", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		for _, c := range []storage.Consent{consent("alice", "c1"), consent("alice", "c2"), consent("bob", "c1")} {
			ok(t, s.UpsertConsent(ctx, c), "UpsertConsent "+c.UserID+"/"+c.ClientID)
		}
		cs, err := s.ListConsents(ctx, "alice")
		ok(t, err, "ListConsents alice")
		sortedEqual(t, "ListConsents alice", consentClients(cs), []string{"alice/c1", "alice/c2"})
		if len(cs) > 0 {
			checkRecord(t, "listed consent", consent("alice", cs[0].ClientID), cs[0])
		}
		cs, err = s.ListConsents(ctx, "nobody")
		ok(t, err, "ListConsents nobody")
		sortedEqual(t, "ListConsents nobody", consentClients(cs), nil)

		ok(t, s.DeleteConsent(ctx, "alice", "c1"), "DeleteConsent")
		_, err = s.GetConsent(ctx, "alice", "c1")
		wantErr(t, err, storage.ErrNotFound, "GetConsent after delete")
		wantErr(t, s.DeleteConsent(ctx, "alice", "c1"), storage.ErrNotFound, "second DeleteConsent")
		_, err = s.GetConsent(ctx, "bob", "c1")
		ok(t, err, "GetConsent of another user's consent to the same client")
		_, err = s.GetConsent(ctx, "alice", "c2")
		ok(t, err, "GetConsent of the same user's consent to another client")
	})

	t.Run("delete by client reaches every user and only that client", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		for _, c := range []storage.Consent{
			consent("alice", "c1"), consent("alice", "c2"), consent("bob", "c1"),
			consent("carol", "c1"), consent("carol", "c10"), consent("dave", "c2"),
		} {
			ok(t, s.UpsertConsent(ctx, c), "UpsertConsent "+c.UserID+"/"+c.ClientID)
		}

		// Rolled back with its transaction, like the client deletion it
		// is part of.
		err := storage.InTx(ctx, s, func(ctx context.Context) error {
			n, err := s.DeleteConsentsByClient(ctx, "c1")
			wantCount(t, n, err, 3, "DeleteConsentsByClient c1 inside a transaction")
			return errBoom
		})
		wantErr(t, err, errBoom, "InTx")
		_, err = s.GetConsent(ctx, "bob", "c1")
		ok(t, err, "GetConsent after the rolled-back DeleteConsentsByClient")

		n, err := s.DeleteConsentsByClient(ctx, "c1")
		wantCount(t, n, err, 3, "DeleteConsentsByClient c1")
		for _, u := range []string{"alice", "bob", "carol"} {
			_, err := s.GetConsent(ctx, u, "c1")
			wantErr(t, err, storage.ErrNotFound, "GetConsent "+u+"/c1 after DeleteConsentsByClient c1")
		}
		var left []storage.Consent
		for _, u := range []string{"alice", "bob", "carol", "dave"} {
			cs, err := s.ListConsents(ctx, u)
			ok(t, err, "ListConsents "+u)
			left = append(left, cs...)
		}
		// c10 shares c1's prefix: a LIKE or prefix match would take it too.
		sortedEqual(t, "consents left after DeleteConsentsByClient c1", consentClients(left),
			[]string{"alice/c2", "carol/c10", "dave/c2"})

		n, err = s.DeleteConsentsByClient(ctx, "c1")
		wantCount(t, n, err, 0, "second DeleteConsentsByClient c1")
		n, err = s.DeleteConsentsByClient(ctx, "c-nobody")
		wantCount(t, n, err, 0, "DeleteConsentsByClient of a client nobody consented to")
	})
}

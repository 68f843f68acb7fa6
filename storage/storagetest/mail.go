package storagetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

func mail(id string, created time.Time) storage.Mail {
	return storage.Mail{
		ID:            id,
		Recipient:     id + "@example.test",
		Subject:       "Subject " + id,
		TextBody:      "text of " + id,
		HTMLBody:      "<p>html of " + id + "</p>",
		Links:         []string{"https://issuer.test/verify-email?token=" + id},
		CreatedAt:     created,
		NextAttemptAt: created,
	}
}

func testMail(t *testing.T, h Harness) {
	t.Run("enqueue, get, list newest first", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		a, b := mail("m-a", base.In(zone)), mail("m-b", at(time.Minute))
		b.Links = nil
		ok(t, s.EnqueueMail(ctx, a), "EnqueueMail a")
		ok(t, s.EnqueueMail(ctx, b), "EnqueueMail b")
		wantErr(t, s.EnqueueMail(ctx, a), storage.ErrConflict, "EnqueueMail of a duplicate id")
		got, err := s.GetMail(ctx, "m-a")
		ok(t, err, "GetMail")
		checkRecord(t, "mail m-a", a, got)
		_, err = s.GetMail(ctx, "nope")
		wantErr(t, err, storage.ErrNotFound, "GetMail of a missing id")
		ms, err := s.ListMail(ctx, 10)
		ok(t, err, "ListMail")
		if len(ms) != 2 || ms[0].ID != "m-b" || ms[1].ID != "m-a" {
			t.Fatalf("ListMail = %v, want m-b then m-a", mailIDs(ms))
		}
		checkRecord(t, "listed mail m-b (no links)", b, ms[0])
		n, err := s.CountUnsentMail(ctx)
		wantCount(t, n, err, 2, "CountUnsentMail")
	})

	t.Run("claim leases due mail; sent mail is never claimed again", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.EnqueueMail(ctx, mail("due-1", base)), "EnqueueMail")
		ok(t, s.EnqueueMail(ctx, mail("due-2", at(time.Second))), "EnqueueMail")
		ok(t, s.EnqueueMail(ctx, mail("later", at(time.Hour))), "EnqueueMail")
		ms, err := s.ClaimMail(ctx, "w1", at(time.Minute), at(2*time.Minute), 10)
		ok(t, err, "ClaimMail")
		orderedEqual(t, "claimed ids", mailIDs(ms), []string{"due-1", "due-2"})
		for _, m := range ms {
			if m.ClaimedBy != "w1" || m.LeaseUntil == nil || !sameTime(*m.LeaseUntil, at(2*time.Minute)) {
				t.Errorf("claimed %s: ClaimedBy=%q LeaseUntil=%v, want w1 until +2m", m.ID, m.ClaimedBy, m.LeaseUntil)
			}
		}
		again, err := s.ClaimMail(ctx, "w2", at(90*time.Second), at(3*time.Minute), 10)
		ok(t, err, "second ClaimMail during the lease")
		if len(again) != 0 {
			t.Errorf("a second worker claimed %v during w1's lease", mailIDs(again))
		}
		wantErr(t, s.MarkMailSent(ctx, "due-1", "w2", at(time.Minute)), storage.ErrNotFound, "MarkMailSent by a worker without the lease")
		ok(t, s.MarkMailSent(ctx, "due-1", "w1", at(time.Minute)), "MarkMailSent")
		wantErr(t, s.MarkMailSent(ctx, "due-1", "w1", at(time.Minute)), storage.ErrNotFound, "second MarkMailSent")
		got, err := s.GetMail(ctx, "due-1")
		ok(t, err, "GetMail")
		if got.SentAt == nil || !sameTime(*got.SentAt, at(time.Minute)) || got.LeaseUntil != nil {
			t.Errorf("sent mail: SentAt=%v LeaseUntil=%v, want sent at +1m and no lease", got.SentAt, got.LeaseUntil)
		}
		// After the lease ends, the unsent one is claimable again (its
		// holder died); the sent one never is.
		ms, err = s.ClaimMail(ctx, "w2", at(2*time.Hour), at(3*time.Hour), 10)
		ok(t, err, "ClaimMail after the lease")
		orderedEqual(t, "claimed after the lease", mailIDs(ms), []string{"due-2", "later"})
		wantErr(t, s.MarkMailSent(ctx, "due-2", "w1", at(2*time.Hour)), storage.ErrNotFound, "MarkMailSent by the worker whose lease expired")
		n, err := s.CountUnsentMail(ctx)
		wantCount(t, n, err, 2, "CountUnsentMail")
	})

	t.Run("failure counts an attempt and defers the next", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.EnqueueMail(ctx, mail("flaky", base)), "EnqueueMail")
		ms, err := s.ClaimMail(ctx, "w", base, at(time.Minute), 1)
		ok(t, err, "ClaimMail")
		if len(ms) != 1 {
			t.Fatalf("claimed %d, want 1", len(ms))
		}
		wantErr(t, s.MarkMailFailed(ctx, "flaky", "other", "x", at(time.Hour)), storage.ErrNotFound, "MarkMailFailed by another worker")
		ok(t, s.MarkMailFailed(ctx, "flaky", "w", "connection refused", at(10*time.Minute)), "MarkMailFailed")
		got, err := s.GetMail(ctx, "flaky")
		ok(t, err, "GetMail")
		if got.Attempts != 1 || got.LastError != "connection refused" || got.LeaseUntil != nil || !sameTime(got.NextAttemptAt, at(10*time.Minute)) {
			t.Errorf("after failure: %+v", got)
		}
		ms, err = s.ClaimMail(ctx, "w", at(5*time.Minute), at(6*time.Minute), 5)
		ok(t, err, "ClaimMail before the next attempt")
		if len(ms) != 0 {
			t.Errorf("claimed %v before its next attempt", mailIDs(ms))
		}
		ms, err = s.ClaimMail(ctx, "w", at(10*time.Minute), at(11*time.Minute), 5)
		ok(t, err, "ClaimMail at the next attempt")
		orderedEqual(t, "claimed at the next attempt", mailIDs(ms), []string{"flaky"})
		ms, err = s.ClaimMail(ctx, "w", at(time.Hour), at(2*time.Hour), 0)
		ok(t, err, "ClaimMail limit 0")
		if len(ms) != 0 {
			t.Errorf("limit 0 claimed %d", len(ms))
		}
	})

	t.Run("concurrent claims: each message goes to one worker", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		const n = 12
		for i := range n {
			ok(t, s.EnqueueMail(ctx, mail(fmt.Sprintf("c-%02d", i), base)), "EnqueueMail")
		}
		claimed := make([][]storage.Mail, 6)
		errs := contend(6, func(i int) error {
			var err error
			claimed[i], err = s.ClaimMail(ctx, fmt.Sprintf("w%d", i), at(time.Minute), at(time.Hour), 3)
			return err
		})
		seen := map[string]string{}
		for i, err := range errs {
			ok(t, err, fmt.Sprintf("ClaimMail by w%d", i))
			for _, m := range claimed[i] {
				if prev, dup := seen[m.ID]; dup {
					t.Errorf("%s claimed by %s and w%d", m.ID, prev, i)
				}
				seen[m.ID] = fmt.Sprintf("w%d", i)
			}
		}
		if len(seen) != n {
			t.Errorf("6 workers of 3 claimed %d distinct messages of %d, want all", len(seen), n)
		}
	})

	t.Run("retention deletes old mail only", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.EnqueueMail(ctx, mail("old", base)), "EnqueueMail")
		ok(t, s.EnqueueMail(ctx, mail("new", at(48*time.Hour))), "EnqueueMail")
		n, err := s.DeleteOldMail(ctx, at(24*time.Hour), 0)
		wantCount(t, n, err, 0, "DeleteOldMail limit 0")
		n, err = s.DeleteOldMail(ctx, at(24*time.Hour), 100)
		wantCount(t, n, err, 1, "DeleteOldMail")
		ms, err := s.ListMail(ctx, 0)
		ok(t, err, "ListMail")
		orderedEqual(t, "kept mail", mailIDs(ms), []string{"new"})
	})
}

var errRollback = errors.New("roll back")

func mailIDs(ms []storage.Mail) []string {
	ids := make([]string, 0, len(ms))
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids
}

func link(hash, purpose string, expires time.Time) storage.LinkToken {
	return storage.LinkToken{
		Hash: hash, Purpose: purpose, UserID: "u-" + hash, Email: hash + "@example.test",
		CreatedAt: base.In(zone), ExpiresAt: expires,
	}
}

func testLinkTokens(t *testing.T, h Harness) {
	t.Run("create, get, use once", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		want := link("h1", storage.LinkPasswordReset, at(time.Hour))
		ok(t, s.CreateLinkToken(ctx, want), "CreateLinkToken")
		wantErr(t, s.CreateLinkToken(ctx, want), storage.ErrConflict, "CreateLinkToken of a duplicate hash")
		got, err := s.GetLinkToken(ctx, "h1", storage.LinkPasswordReset, base)
		ok(t, err, "GetLinkToken")
		checkRecord(t, "link token", want, got)
		_, err = s.GetLinkToken(ctx, "h1", storage.LinkVerifyEmail, base)
		wantErr(t, err, storage.ErrNotFound, "GetLinkToken for another purpose")
		_, err = s.UseLinkToken(ctx, "h1", storage.LinkVerifyEmail, base)
		wantErr(t, err, storage.ErrNotFound, "UseLinkToken for another purpose")
		got, err = s.UseLinkToken(ctx, "h1", storage.LinkPasswordReset, at(time.Minute))
		ok(t, err, "UseLinkToken")
		want.UsedAt = ptr(at(time.Minute))
		checkRecord(t, "used link token", want, got)
		_, err = s.UseLinkToken(ctx, "h1", storage.LinkPasswordReset, at(2*time.Minute))
		wantErr(t, err, storage.ErrNotFound, "second UseLinkToken")
		_, err = s.GetLinkToken(ctx, "h1", storage.LinkPasswordReset, at(2*time.Minute))
		wantErr(t, err, storage.ErrNotFound, "GetLinkToken after use")
	})

	t.Run("expired tokens are refused and swept", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateLinkToken(ctx, link("old", storage.LinkVerifyEmail, at(time.Hour))), "CreateLinkToken")
		ok(t, s.CreateLinkToken(ctx, link("new", storage.LinkVerifyEmail, at(48*time.Hour))), "CreateLinkToken")
		_, err := s.UseLinkToken(ctx, "old", storage.LinkVerifyEmail, at(time.Hour))
		wantErr(t, err, storage.ErrNotFound, "UseLinkToken at its expiry")
		n, err := s.DeleteStaleLinkTokens(ctx, at(2*time.Hour), 100)
		wantCount(t, n, err, 1, "DeleteStaleLinkTokens")
		_, err = s.UseLinkToken(ctx, "old", storage.LinkVerifyEmail, base)
		wantErr(t, err, storage.ErrNotFound, "UseLinkToken of a swept token")
		_, err = s.UseLinkToken(ctx, "new", storage.LinkVerifyEmail, at(2*time.Hour))
		ok(t, err, "UseLinkToken of the kept token")
	})

	t.Run("delete a user's unused tokens of one purpose", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		mk := func(hash, user, purpose string) storage.LinkToken {
			l := link(hash, purpose, at(time.Hour))
			l.UserID = user
			return l
		}
		for _, l := range []storage.LinkToken{
			mk("c1", "alice", storage.LinkChangeEmail), mk("c2", "alice", storage.LinkChangeEmail),
			mk("r1", "alice", storage.LinkPasswordReset), mk("c3", "bob", storage.LinkChangeEmail),
			mk("used", "alice", storage.LinkChangeEmail),
		} {
			ok(t, s.CreateLinkToken(ctx, l), "CreateLinkToken "+l.Hash)
		}
		_, err := s.UseLinkToken(ctx, "used", storage.LinkChangeEmail, base)
		ok(t, err, "UseLinkToken")
		n, err := s.DeleteUserLinkTokens(ctx, "alice", storage.LinkChangeEmail)
		wantCount(t, n, err, 2, "DeleteUserLinkTokens alice change_email")
		for _, c := range []struct {
			hash, purpose string
			gone          bool
		}{{"c1", storage.LinkChangeEmail, true}, {"c2", storage.LinkChangeEmail, true},
			{"r1", storage.LinkPasswordReset, false}, {"c3", storage.LinkChangeEmail, false}} {
			_, err := s.GetLinkToken(ctx, c.hash, c.purpose, base)
			if c.gone {
				wantErr(t, err, storage.ErrNotFound, "GetLinkToken of deleted "+c.hash)
			} else {
				ok(t, err, "GetLinkToken of kept "+c.hash)
			}
		}
	})

	t.Run("concurrent uses: exactly one of 8 wins", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateLinkToken(ctx, link("race", storage.LinkInvitation, at(time.Hour))), "CreateLinkToken")
		errs := contend(8, func(int) error {
			_, err := s.UseLinkToken(ctx, "race", storage.LinkInvitation, base)
			return err
		})
		oneWinner(t, errs, storage.ErrNotFound, "UseLinkToken")
	})

	t.Run("rolled-back enqueue leaves nothing", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		err := storage.InTx(ctx, s, func(ctx context.Context) error {
			if err := s.CreateLinkToken(ctx, link("tx", storage.LinkVerifyEmail, at(time.Hour))); err != nil {
				return err
			}
			if err := s.EnqueueMail(ctx, mail("tx", base)); err != nil {
				return err
			}
			return errRollback
		})
		wantErr(t, err, errRollback, "InTx")
		n, err := s.CountUnsentMail(ctx)
		wantCount(t, n, err, 0, "CountUnsentMail after rollback")
		_, err = s.GetLinkToken(ctx, "tx", storage.LinkVerifyEmail, base)
		wantErr(t, err, storage.ErrNotFound, "GetLinkToken after rollback")
	})
}

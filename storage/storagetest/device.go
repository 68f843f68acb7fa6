package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

func deviceGrant(n string) storage.DeviceGrant {
	return storage.DeviceGrant{
		DeviceCodeHash: "dc-" + n,
		UserCodeHash:   "uc-" + n,
		ClientID:       "client-1",
		Scopes:         []string{"openid", "offline_access"},
		Audience:       []string{"https://api.example.com"},
		State:          storage.DevicePending,
		Interval:       5 * time.Second,
		CreatedAt:      base.In(zone),
		ExpiresAt:      at(10 * time.Minute),
	}
}

func testDevice(t *testing.T, h Harness) {
	t.Run("create, get by either code, duplicates conflict", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		want := deviceGrant("1")
		ok(t, s.CreateDeviceGrant(ctx, want), "CreateDeviceGrant")
		got, err := s.GetDeviceGrant(ctx, "dc-1")
		ok(t, err, "GetDeviceGrant")
		checkRecord(t, "device grant", want, got)
		got, err = s.GetDeviceGrantByUserCode(ctx, "uc-1")
		ok(t, err, "GetDeviceGrantByUserCode")
		checkRecord(t, "device grant by user code", want, got)
		_, err = s.GetDeviceGrant(ctx, "dc-nope")
		wantErr(t, err, storage.ErrNotFound, "GetDeviceGrant of a missing code")
		_, err = s.GetDeviceGrantByUserCode(ctx, "uc-nope")
		wantErr(t, err, storage.ErrNotFound, "GetDeviceGrantByUserCode of a missing code")

		sameUser := deviceGrant("2")
		sameUser.UserCodeHash = "uc-1"
		wantErr(t, s.CreateDeviceGrant(ctx, sameUser), storage.ErrConflict, "CreateDeviceGrant with a taken user code")
		sameDevice := deviceGrant("3")
		sameDevice.DeviceCodeHash = "dc-1"
		wantErr(t, s.CreateDeviceGrant(ctx, sameDevice), storage.ErrConflict, "CreateDeviceGrant with a taken device code")
	})

	t.Run("a decision is taken once, and never after expiry", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateDeviceGrant(ctx, deviceGrant("1")), "CreateDeviceGrant")
		d := storage.DeviceDecision{State: storage.DeviceApproved, UserID: "user-1", SessionID: "sess-1",
			GrantedScopes: []string{"openid"}, At: at(time.Minute)}
		got, err := s.DecideDeviceGrant(ctx, "uc-1", d)
		ok(t, err, "DecideDeviceGrant")
		want := deviceGrant("1")
		want.State, want.UserID, want.SessionID = storage.DeviceApproved, "user-1", "sess-1"
		want.GrantedScopes, want.DecidedAt = []string{"openid"}, ptr(at(time.Minute))
		checkRecord(t, "decided device grant", want, got)
		stored, err := s.GetDeviceGrant(ctx, "dc-1")
		ok(t, err, "GetDeviceGrant after the decision")
		checkRecord(t, "stored decision", want, stored)

		deny := d
		deny.State, deny.UserID = storage.DeviceDenied, "user-2"
		_, err = s.DecideDeviceGrant(ctx, "uc-1", deny)
		wantErr(t, err, storage.ErrConflict, "a second decision")
		stored, _ = s.GetDeviceGrant(ctx, "dc-1")
		checkRecord(t, "device grant after the second decision", want, stored)

		_, err = s.DecideDeviceGrant(ctx, "uc-nope", d)
		wantErr(t, err, storage.ErrNotFound, "DecideDeviceGrant of a missing code")

		ok(t, s.CreateDeviceGrant(ctx, deviceGrant("2")), "CreateDeviceGrant 2")
		late := d
		late.At = at(10*time.Minute + time.Second)
		_, err = s.DecideDeviceGrant(ctx, "uc-2", late)
		wantErr(t, err, storage.ErrConflict, "DecideDeviceGrant after expiry")
		stored, _ = s.GetDeviceGrant(ctx, "dc-2")
		if stored.State != storage.DevicePending {
			t.Errorf("an expired grant was decided: state %q", stored.State)
		}
	})

	t.Run("concurrent decisions: exactly one of 8 wins", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateDeviceGrant(ctx, deviceGrant("1")), "CreateDeviceGrant")
		errs := contend(8, func(i int) error {
			_, err := s.DecideDeviceGrant(ctx, "uc-1", storage.DeviceDecision{State: storage.DeviceApproved,
				UserID: fmt.Sprintf("user-%d", i), At: at(time.Second)})
			return err
		})
		w := oneWinner(t, errs, storage.ErrConflict, "DecideDeviceGrant")
		got, _ := s.GetDeviceGrant(ctx, "dc-1")
		if w >= 0 && got.UserID != fmt.Sprintf("user-%d", w) {
			t.Errorf("stored user %q, but caller %d won", got.UserID, w)
		}
	})

	t.Run("polling sooner than the interval is too fast and raises it", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateDeviceGrant(ctx, deviceGrant("1")), "CreateDeviceGrant")
		bump := 5 * time.Second
		steps := []struct {
			at       time.Duration
			tooFast  bool
			interval time.Duration
		}{
			{at: 0, tooFast: false, interval: 5 * time.Second},                // first poll
			{at: 5 * time.Second, tooFast: false, interval: 5 * time.Second},  // exactly the interval
			{at: 7 * time.Second, tooFast: true, interval: 10 * time.Second},  // 2 s after: slow down
			{at: 12 * time.Second, tooFast: true, interval: 15 * time.Second}, // 5 s < the new 10 s
			{at: 27 * time.Second, tooFast: false, interval: 15 * time.Second},
		}
		for i, st := range steps {
			g, tooFast, err := s.PollDeviceGrant(ctx, "dc-1", at(st.at), bump)
			ok(t, err, fmt.Sprintf("poll %d", i))
			if tooFast != st.tooFast || g.Interval != st.interval {
				t.Errorf("poll %d at +%s: tooFast %v interval %s, want %v %s", i, st.at, tooFast, g.Interval, st.tooFast, st.interval)
			}
			if g.LastPolledAt == nil || !sameTime(*g.LastPolledAt, at(st.at)) || g.Polls != i+1 {
				t.Errorf("poll %d: last polled %v, polls %d", i, g.LastPolledAt, g.Polls)
			}
		}
		_, _, err := s.PollDeviceGrant(ctx, "dc-nope", base, bump)
		wantErr(t, err, storage.ErrNotFound, "PollDeviceGrant of a missing code")
	})

	t.Run("concurrent polls: at most one is in time", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateDeviceGrant(ctx, deviceGrant("1")), "CreateDeviceGrant")
		fast := make([]bool, 6)
		errs := contend(6, func(i int) error {
			var err error
			_, fast[i], err = s.PollDeviceGrant(ctx, "dc-1", base, time.Second)
			return err
		})
		inTime := 0
		for i, err := range errs {
			ok(t, err, fmt.Sprintf("poll %d", i))
			if !fast[i] {
				inTime++
			}
		}
		if inTime != 1 {
			t.Errorf("%d of 6 simultaneous first polls were in time, want 1", inTime)
		}
		g, _ := s.GetDeviceGrant(ctx, "dc-1")
		if g.Interval != 10*time.Second || g.Polls != 6 {
			t.Errorf("after 6 simultaneous polls: interval %s polls %d, want 10s and 6", g.Interval, g.Polls)
		}
	})

	t.Run("redeem once, only when approved", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateDeviceGrant(ctx, deviceGrant("1")), "CreateDeviceGrant")
		wantErr(t, s.RedeemDeviceGrant(ctx, "dc-1"), storage.ErrConflict, "RedeemDeviceGrant while pending")
		_, err := s.DecideDeviceGrant(ctx, "uc-1", storage.DeviceDecision{State: storage.DeviceApproved, UserID: "u", At: base})
		ok(t, err, "DecideDeviceGrant")
		errs := contend(8, func(int) error { return s.RedeemDeviceGrant(ctx, "dc-1") })
		oneWinner(t, errs, storage.ErrConflict, "RedeemDeviceGrant")
		g, _ := s.GetDeviceGrant(ctx, "dc-1")
		if g.State != storage.DeviceRedeemed {
			t.Errorf("state after redemption %q", g.State)
		}
		wantErr(t, s.RedeemDeviceGrant(ctx, "dc-nope"), storage.ErrNotFound, "RedeemDeviceGrant of a missing code")

		ok(t, s.CreateDeviceGrant(ctx, deviceGrant("2")), "CreateDeviceGrant 2")
		_, err = s.DecideDeviceGrant(ctx, "uc-2", storage.DeviceDecision{State: storage.DeviceDenied, UserID: "u", At: base})
		ok(t, err, "deny")
		wantErr(t, s.RedeemDeviceGrant(ctx, "dc-2"), storage.ErrConflict, "RedeemDeviceGrant of a denied grant")
	})

	t.Run("expired grants are swept in batches", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		for i := range 3 {
			g := deviceGrant(fmt.Sprint(i))
			g.ExpiresAt = at(time.Duration(i) * time.Minute)
			ok(t, s.CreateDeviceGrant(ctx, g), "CreateDeviceGrant")
		}
		n, err := s.DeleteExpiredDeviceGrants(ctx, at(90*time.Second), 1)
		wantCount(t, n, err, 1, "first batch")
		n, err = s.DeleteExpiredDeviceGrants(ctx, at(90*time.Second), 10)
		wantCount(t, n, err, 1, "second batch")
		n, err = s.DeleteExpiredDeviceGrants(ctx, at(90*time.Second), 10)
		wantCount(t, n, err, 0, "nothing left to sweep")
		_, err = s.GetDeviceGrant(ctx, "dc-2")
		ok(t, err, "the unexpired grant is kept")
	})
}

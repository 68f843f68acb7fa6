package storagetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// window is the failure-counting window used by the throttle tests.
const window = 15 * time.Minute

func testThrottle(t *testing.T, h Harness) {
	t.Run("record failure increments within the window and restarts after it", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		steps := []struct {
			name      string
			at        time.Time
			wantN     int
			wantFirst time.Time
		}{
			{"first failure", base.In(zone), 1, base},
			{"second failure", at(time.Minute), 2, base},
			{"third failure", at(2 * time.Minute), 3, base},
			{"after a quiet window the count restarts", at(2*time.Minute + window + time.Second), 1, at(2*time.Minute + window + time.Second)},
			{"and counts again", at(3*time.Minute + window), 2, at(2*time.Minute + window + time.Second)},
		}
		for _, st := range steps {
			got, err := s.RecordFailure(ctx, "user:alice", st.at, st.at.Add(-window))
			ok(t, err, "RecordFailure: "+st.name)
			want := storage.FailureCounter{Key: "user:alice", Failures: st.wantN, FirstAt: st.wantFirst, LastAt: st.at}
			checkRecord(t, "counter returned by RecordFailure: "+st.name, want, got)
			stored, err := s.GetFailures(ctx, "user:alice")
			ok(t, err, "GetFailures")
			checkRecord(t, "stored counter: "+st.name, want, stored)
		}
		got, err := s.RecordFailure(ctx, "ip:192.0.2.1", base, base.Add(-window))
		ok(t, err, "RecordFailure of another key")
		if got.Failures != 1 {
			t.Errorf("another key starts at %d failures, want 1", got.Failures)
		}
	})

	t.Run("lock, get and reset", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		_, err := s.GetFailures(ctx, "user:alice")
		wantErr(t, err, storage.ErrNotFound, "GetFailures without a counter")
		wantErr(t, s.SetLock(ctx, "user:alice", at(time.Hour)), storage.ErrNotFound, "SetLock without a counter")

		_, err = s.RecordFailure(ctx, "user:alice", base, base.Add(-window))
		ok(t, err, "RecordFailure")
		ok(t, s.SetLock(ctx, "user:alice", at(time.Hour).In(zone)), "SetLock")
		got, err := s.GetFailures(ctx, "user:alice")
		ok(t, err, "GetFailures")
		want := storage.FailureCounter{Key: "user:alice", Failures: 1, FirstAt: base, LastAt: base, LockedUntil: ptr(at(time.Hour))}
		checkRecord(t, "locked counter", want, got)

		ok(t, s.ResetFailures(ctx, "user:alice"), "ResetFailures")
		_, err = s.GetFailures(ctx, "user:alice")
		wantErr(t, err, storage.ErrNotFound, "GetFailures after reset")
		ok(t, s.ResetFailures(ctx, "user:alice"), "ResetFailures of a missing counter")
		got, err = s.RecordFailure(ctx, "user:alice", at(time.Minute), at(time.Minute-window))
		ok(t, err, "RecordFailure after reset")
		if got.Failures != 1 || got.LockedUntil != nil {
			t.Errorf("after reset the counter is %d failures locked until %v, want 1 and unlocked", got.Failures, got.LockedUntil)
		}
	})

	t.Run("10 concurrent failures count 10", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		counts := make([]int, 10)
		errs := contend(10, func(i int) error {
			when := at(time.Duration(i) * time.Millisecond)
			c, err := s.RecordFailure(ctx, "ip:198.51.100.9", when, base.Add(-window))
			counts[i] = c.Failures
			return err
		})
		for i, err := range errs {
			ok(t, err, fmt.Sprintf("concurrent RecordFailure %d", i))
		}
		got, err := s.GetFailures(ctx, "ip:198.51.100.9")
		ok(t, err, "GetFailures")
		if got.Failures != 10 {
			t.Errorf("Failures = %d after 10 concurrent failures, want 10", got.Failures)
		}
		// Each caller must see its own increment: the returned counts are
		// exactly 1..10.
		slices.Sort(counts)
		if want := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}; !slices.Equal(counts, want) {
			t.Errorf("counts returned to the 10 callers = %v, want each of 1..10 once", counts)
		}
	})

	t.Run("delete stale counters keeps recent and locked ones and honours the limit", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		// The cut-off is base: a counter is stale when its last failure
		// and its lock (if any) both end before it.
		counters := []struct {
			key         string
			last        time.Time
			lockedUntil *time.Time
		}{
			{"user:idle", at(-2 * time.Hour).In(zone), nil},
			{"ip:192.0.2.1", at(-time.Second), nil},
			{"user:lock-ended", at(-time.Hour), ptr(at(-time.Minute).In(zone))},
			{"client:idle", at(-time.Millisecond), nil},
			{"user:recent", base, nil},
			{"user:later", at(time.Hour), nil},
			{"user:locked", at(-time.Hour), ptr(at(time.Minute))},
			{"ip:198.51.100.7", at(-time.Hour), ptr(base)},
		}
		for _, c := range counters {
			_, err := s.RecordFailure(ctx, c.key, c.last, c.last.Add(-window))
			ok(t, err, "RecordFailure "+c.key)
			if c.lockedUntil != nil {
				ok(t, s.SetLock(ctx, c.key, *c.lockedUntil), "SetLock "+c.key)
			}
		}

		n, err := s.DeleteStaleCounters(ctx, base, 0)
		wantCount(t, n, err, 0, "DeleteStaleCounters with limit 0")
		n, err = s.DeleteStaleCounters(ctx, base, -1)
		wantCount(t, n, err, 0, "DeleteStaleCounters with a negative limit")
		for _, c := range counters {
			_, err := s.GetFailures(ctx, c.key)
			ok(t, err, "GetFailures "+c.key+" after a batch of 0")
		}

		for round, want := range []int{3, 1, 0} {
			n, err := s.DeleteStaleCounters(ctx, base, 3)
			wantCount(t, n, err, want, fmt.Sprintf("DeleteStaleCounters limit 3, round %d", round+1))
		}
		for i, c := range counters {
			_, err := s.GetFailures(ctx, c.key)
			if i < 4 {
				wantErr(t, err, storage.ErrNotFound, "GetFailures of stale counter "+c.key)
			} else {
				ok(t, err, "GetFailures of counter "+c.key+" that can still count or lock")
			}
		}
	})
}

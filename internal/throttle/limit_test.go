package throttle_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/throttle"
)

func TestLimiter(t *testing.T) {
	eachBackend(t, func(t *testing.T, s store) {
		c := newClock()
		l := throttle.NewLimiter(s, c.Now)
		r := throttle.Rate{Max: 3, Window: 10 * time.Minute}
		key := throttle.RateAddrKey("forgot", "192.0.2.7")
		take := func(what string, k string, want bool) time.Time {
			t.Helper()
			ok, retry, err := l.Take(t.Context(), k, r)
			if err != nil {
				t.Fatalf("%s: Take: %v", what, err)
			}
			if ok != want {
				t.Fatalf("%s: Take = %v, want %v", what, ok, want)
			}
			return retry
		}
		start := c.Now()
		for i := range r.Max {
			take("event "+string(rune('1'+i)), key, true)
			c.Advance(time.Minute)
		}
		retry := take("one over the limit", key, false)
		if !retry.Equal(start.Add(r.Window)) {
			t.Errorf("retry at %s, want the window's end %s", retry, start.Add(r.Window))
		}
		// Other keys are counted apart: another address, another action,
		// an IPv6 neighbour in another /64.
		take("another address", throttle.RateAddrKey("forgot", "192.0.2.8"), true)
		take("another action", throttle.RateAddrKey("signup", "192.0.2.7"), true)
		v6 := throttle.RateAddrKey("forgot", "2001:db8:1:2::1")
		for range r.Max {
			take("v6", v6, true)
		}
		take("the same /64 is one host", throttle.RateAddrKey("forgot", "2001:db8:1:2::ffff"), false)
		take("another /64", throttle.RateAddrKey("forgot", "2001:db8:1:3::1"), true)

		// Recipients are lower-cased and trimmed.
		to := throttle.RateRecipientKey("forgot", "Alice@Example.com")
		for range r.Max {
			take("recipient", to, true)
		}
		take("the same recipient in other case", throttle.RateRecipientKey("forgot", " alice@example.COM "), false)

		// The window ends: counting starts again.
		c.Advance(r.Window)
		take("after the window", key, true)

		// An over-long key is bounded, not stored at any size.
		long := throttle.RateRecipientKey("forgot", strings.Repeat("a", 5000)+"@example.com")
		take("over-long key", long, true)
	})
}

func TestRateValidate(t *testing.T) {
	for _, r := range []throttle.Rate{{Max: 0, Window: time.Minute}, {Max: 1}, {Max: 1, Window: 2 * throttle.MaxRateWindow}} {
		if r.Validate() == nil {
			t.Errorf("%+v accepted", r)
		}
	}
	l := throttle.NewLimiter(openSQLite(t), nil)
	if _, _, err := l.Take(t.Context(), "rate:x", throttle.Rate{}); err == nil {
		t.Error("Take with a zero rate did not fail")
	}
}

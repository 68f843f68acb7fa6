package throttle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// MaxRateWindow is the longest window a Rate may have. Config.CounterWindow
// includes it, so the janitor never sweeps a rate counter that still
// counts.
const MaxRateWindow = time.Hour

// prefixRate is the counter space of rate limits: "rate:<action>:ip:…" and
// "rate:<action>:to:…", apart from every failure counter.
const prefixRate = "rate:"

// maxRateKey bounds a rate key (an email is at most 254 bytes; the rest
// is a short prefix), so no input makes a counter row of any size.
const maxRateKey = 320

// Rate is at most Max events per Window for one key.
type Rate struct {
	Max    int
	Window time.Duration
}

// Validate names what is wrong with r.
func (r Rate) Validate() error {
	switch {
	case r.Max < 1:
		return fmt.Errorf("throttle: a rate needs Max >= 1, got %d", r.Max)
	case r.Window <= 0 || r.Window > MaxRateWindow:
		return fmt.Errorf("throttle: a rate's Window must be in (0, %s], got %s", MaxRateWindow, r.Window)
	}
	return nil
}

// Limiter counts events (a reset mail asked for, a sign-up) per key in
// fixed windows kept in the store, so a limit holds across instances and
// restarts. It shares the failure_counters table with the Guard (its own
// key space) and the janitor's sweep of it. It is safe for concurrent use.
type Limiter struct {
	store storage.ThrottleStore
	now   func() time.Time
}

// NewLimiter returns a Limiter; now may be nil (time.Now). It panics on a
// nil store (a wiring bug).
func NewLimiter(store storage.ThrottleStore, now func() time.Time) *Limiter {
	if store == nil {
		panic("throttle.NewLimiter: nil store")
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{store: store, now: now}
}

// Take counts one event of key and reports whether it is within r; when
// it is not, retryAt is when the key's window ends. Every call counts,
// refused ones too, so hammering a limit does not make it end sooner. An
// error means the store could not be written: fail closed (answer 5xx).
func (l *Limiter) Take(ctx context.Context, key string, r Rate) (ok bool, retryAt time.Time, err error) {
	if err := r.Validate(); err != nil {
		return false, time.Time{}, err
	}
	if len(key) > maxRateKey {
		key = key[:maxRateKey]
	}
	c, err := countInWindow(ctx, l.store, key, l.now(), r.Window)
	if err != nil {
		return false, time.Time{}, fmt.Errorf("throttle: rate %s: %w", kind(key), err)
	}
	if c.Failures > r.Max {
		return false, c.FirstAt.Add(r.Window), nil
	}
	return true, time.Time{}, nil
}

// countInWindow counts one event of key in a fixed window of length
// window and returns the counter. The store only restarts a counter after
// a quiet period, so a window whose first event is window old or more is
// restarted here; a concurrent restart by another instance can lose a few
// counts, which only makes the limit slightly more lenient.
func countInWindow(ctx context.Context, store storage.ThrottleStore, key string, now time.Time, window time.Duration) (storage.FailureCounter, error) {
	windowStart := now.Add(-window)
	c, err := store.RecordFailure(ctx, key, now, windowStart)
	if err != nil {
		return c, err
	}
	lockedNow := c.LockedUntil != nil && c.LockedUntil.After(now)
	if !c.FirstAt.After(windowStart) && !lockedNow {
		if err := store.ResetFailures(ctx, key); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return c, err
		}
		return store.RecordFailure(ctx, key, now, windowStart)
	}
	return c, nil
}

// RateAddrKey is the rate key of action (e.g. "forgot", "signup") from one
// client address, reduced like IPKey (an IPv6 /64 is one host).
func RateAddrKey(action, ip string) string {
	return prefixRate + action + ":" + IPKey(ip)
}

// RateRecipientKey is the rate key of action for one mail recipient, the
// address lower-cased and trimmed (mailboxes are compared
// case-insensitively here, as Sesame's email lookups are).
func RateRecipientKey(action, email string) string {
	return prefixRate + action + ":to:" + strings.ToLower(strings.TrimSpace(email))
}

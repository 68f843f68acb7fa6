package throttle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// The password policy: which counters a password attempt reads and
// writes, for internal/app's one password check (app.Passwords.Verify),
// the only caller. A stranger must not be able to lock someone else out
// (issue 13 item 3), so nothing here is keyed on the username alone with
// the power to refuse:
//
//   - (username, address) — PairKey: MaxFailures wrong passwords for one
//     username from one address lock that pair, with the usual back-off.
//     The same username from another address is not affected.
//   - (address) — IPKey: IPMaxFailures failures from one address within
//     IPWindow, whatever the usernames, lock the address.
//   - (username) — UserKey: failures from every address are counted but
//     never lock; from MaxFailures on, every attempt on that username
//     waits Delay (SlowDownBase doubling per further failure, capped at
//     SlowDownMax) before the password is verified — the right password
//     from a new address still gets in, a little later.
//
// All three are computed from the submitted username whether or not such
// a user exists, so neither a lock nor a delay tells an attacker which
// usernames are real.

// Decision is what CheckPassword found for one attempt.
type Decision struct {
	// Locked: refuse the attempt without verifying; Until is when the
	// latest of the locks involved ends.
	Locked bool
	Until  time.Time
	// Delay is the per-account slow-down to wait before verifying.
	Delay time.Duration
	// present are the account counters that exist, so a success resets
	// only those (no write in the common clean case).
	present []string
}

// passwordKeys are the counters of a password attempt by username from ip.
func passwordKeys(username, ip string) (pair, account, addr string) {
	return PairKey(username, ip), UserKey(username), IPKey(ip)
}

// CheckPassword reads the counters of a password attempt for username
// (as submitted, whether or not such a user exists) from ip. An error means
// the store could not be read: fail closed.
func (g *Guard) CheckPassword(ctx context.Context, username, ip string) (Decision, error) {
	if !g.cfg.Enabled {
		return Decision{}, nil
	}
	now := g.now()
	var d Decision
	pair, account, addr := passwordKeys(username, ip)
	for _, key := range []string{pair, account, addr} {
		c, err := g.store.GetFailures(ctx, key)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return Decision{}, fmt.Errorf("throttle: check %s: %w", kind(key), err)
		}
		if key != addr {
			d.present = append(d.present, key)
		}
		if key == account {
			// Never a lock: only the slow-down, and only while the
			// failures still count (ResetAfter).
			if c.LastAt.After(now.Add(-g.cfg.ResetAfter)) {
				d.Delay = g.slowDown(c.Failures)
			}
			continue
		}
		if c.LockedUntil != nil && c.LockedUntil.After(now) && c.LockedUntil.After(d.Until) {
			d.Until, d.Locked = *c.LockedUntil, true
		}
	}
	return d, nil
}

// slowDown is the wait before verifying a password for an account with
// the given number of recent failures from all addresses.
func (g *Guard) slowDown(failures int) time.Duration {
	if failures < g.cfg.MaxFailures || g.cfg.SlowDownMax <= 0 {
		return 0
	}
	shift := failures - g.cfg.MaxFailures
	if shift >= 62 {
		return g.cfg.SlowDownMax
	}
	d := g.cfg.SlowDownBase << shift
	if d <= 0 || d > g.cfg.SlowDownMax || d>>shift != g.cfg.SlowDownBase {
		return g.cfg.SlowDownMax
	}
	return d
}

// FailPassword counts one wrong password for username from ip: the pair
// (which may lock it), the account (which only slows it down) and the
// address (which may lock it).
func (g *Guard) FailPassword(ctx context.Context, username, ip, userAgent string) error {
	if !g.cfg.Enabled {
		return nil
	}
	pair, account, _ := passwordKeys(username, ip)
	now := g.now()
	var errs []error
	if _, err := g.store.RecordFailure(ctx, account, now, now.Add(-g.cfg.ResetAfter)); err != nil {
		errs = append(errs, fmt.Errorf("throttle: record failure of %s: %w", kind(account), err))
	}
	if err := g.Fail(ctx, ip, userAgent, pair); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// SucceedPassword forgets the failures of the pair and the account d found
// after the right password (the address counter is kept, see Succeed).
func (g *Guard) SucceedPassword(ctx context.Context, d Decision) error {
	if len(d.present) == 0 {
		return nil
	}
	return g.Succeed(ctx, d.present...)
}

// RefusedPassword counts an attempt refused by a lock (see Refused).
func (g *Guard) RefusedPassword(ctx context.Context, username, ip string) {
	pair, _, _ := passwordKeys(username, ip)
	g.Refused(ctx, pair)
}

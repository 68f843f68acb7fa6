package throttle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// The password policy: the counters a password attempt reads and writes,
// for internal/app's one password check (app.Passwords.Verify), which is
// the only caller. Keeping the choice of keys here means the policy can
// change without touching the places that check passwords.

// Decision is what CheckPassword found for one attempt.
type Decision struct {
	// Locked: refuse the attempt without verifying; Until is when the
	// latest of the locks involved ends.
	Locked bool
	Until  time.Time
	// present are the account counters that exist, so a success resets
	// only those (no write in the common clean case).
	present []string
}

// passwordKeys are the counters of a password attempt by username from ip.
func passwordKeys(username, ip string) (account, addr string) {
	return UserKey(username), IPKey(ip)
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
	account, addr := passwordKeys(username, ip)
	for _, key := range []string{account, addr} {
		c, err := g.store.GetFailures(ctx, key)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return Decision{}, fmt.Errorf("throttle: check %s: %w", kind(key), err)
		}
		if !isIPKey(key) {
			d.present = append(d.present, key)
		}
		if c.LockedUntil != nil && c.LockedUntil.After(now) && c.LockedUntil.After(d.Until) {
			d.Until, d.Locked = *c.LockedUntil, true
		}
	}
	return d, nil
}

// FailPassword counts one wrong password for username from ip.
func (g *Guard) FailPassword(ctx context.Context, username, ip, userAgent string) error {
	account, _ := passwordKeys(username, ip)
	return g.Fail(ctx, ip, userAgent, account)
}

// SucceedPassword forgets the account failures d found after the right
// password.
func (g *Guard) SucceedPassword(ctx context.Context, d Decision) error {
	if len(d.present) == 0 {
		return nil
	}
	return g.Succeed(ctx, d.present...)
}

// RefusedPassword counts an attempt refused by a lock (see Refused).
func (g *Guard) RefusedPassword(ctx context.Context, username, ip string) {
	account, _ := passwordKeys(username, ip)
	g.Refused(ctx, account)
}

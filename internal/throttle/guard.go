package throttle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// Message is what a user or client is told while locked. It is the same for
// existing and unknown accounts and does not say which key (account or IP)
// is locked, so it reveals nothing an attacker could enumerate.
const Message = "Too many failed attempts. Please wait a few minutes and try again."

// AuditLocked is the audit event type written each time a lock is set.
const AuditLocked = "auth.locked"

// Config tunes the guard. The defaults follow Keycloak's brute-force
// detection, made stricter on the number of attempts (5 instead of 30)
// because Sesame has no second factor yet.
type Config struct {
	// Enabled switches the whole guard; when false every method is a
	// no-op (Unlock still clears counters).
	Enabled bool
	// MaxFailures is how many consecutive failures lock an account.
	MaxFailures int
	// BaseLock is the first lock; each further failure doubles it.
	BaseLock time.Duration
	// MaxLock caps a lock.
	MaxLock time.Duration
	// ResetAfter: an account counter idle this long starts again from 1.
	ResetAfter time.Duration
	// IPMaxFailures failures from one IP within IPWindow lock that IP for
	// IPWindow; 0 disables the per-IP limit.
	IPMaxFailures int
	// IPWindow is the fixed window of the per-IP limit and its lock time.
	IPWindow time.Duration
	// SlowDownBase is the wait before verifying a password for a username
	// with MaxFailures recent failures from all addresses; it doubles per
	// further failure up to SlowDownMax. 0 SlowDownMax: no slow-down.
	SlowDownBase time.Duration
	SlowDownMax  time.Duration
}

// DefaultConfig: lock after 5 failures for 30 s, doubling to 15 min,
// forgetting failures after 12 h; 50 failures per IP per 5 min.
func DefaultConfig() Config {
	return Config{
		Enabled:       true,
		MaxFailures:   5,
		BaseLock:      30 * time.Second,
		MaxLock:       15 * time.Minute,
		ResetAfter:    12 * time.Hour,
		IPMaxFailures: 50,
		IPWindow:      5 * time.Minute,
		SlowDownBase:  250 * time.Millisecond,
		SlowDownMax:   2 * time.Second,
	}
}

// Validate names the first bad field; a disabled config is always valid.
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	switch {
	case c.MaxFailures < 1:
		return fmt.Errorf("throttle: MaxFailures must be at least 1, got %d", c.MaxFailures)
	case c.BaseLock <= 0:
		return fmt.Errorf("throttle: BaseLock must be positive, got %s", c.BaseLock)
	case c.MaxLock < c.BaseLock:
		return fmt.Errorf("throttle: MaxLock (%s) must be at least BaseLock (%s)", c.MaxLock, c.BaseLock)
	case c.ResetAfter <= 0:
		return fmt.Errorf("throttle: ResetAfter must be positive, got %s", c.ResetAfter)
	case c.IPMaxFailures < 0:
		return fmt.Errorf("throttle: IPMaxFailures must not be negative, got %d", c.IPMaxFailures)
	case c.SlowDownMax > 0 && (c.SlowDownBase <= 0 || c.SlowDownBase > c.SlowDownMax):
		return fmt.Errorf("throttle: SlowDownBase (%s) must be positive and at most SlowDownMax (%s)", c.SlowDownBase, c.SlowDownMax)
	case c.IPMaxFailures > 0 && c.IPWindow <= 0:
		return fmt.Errorf("throttle: IPWindow must be positive when IPMaxFailures is set, got %s", c.IPWindow)
	}
	return nil
}

// CounterWindow is how long a failure counter can still count toward a
// lock after its last failure: an account counter restarts after
// ResetAfter, an IP counter after IPWindow of quiet and a rate counter
// (Limiter) after at most MaxRateWindow, so one idle longer than all three
// (and not locked) acts exactly like a missing one. The janitor
// deletes counters only past this window
// (storage.ThrottleStore.DeleteStaleCounters).
func (c Config) CounterWindow() time.Duration {
	return max(c.ResetAfter, c.IPWindow, MaxRateWindow)
}

// Guard applies the brute-force policy. It is safe for concurrent use and
// keeps no state of its own: several instances on one database share their
// counters.
type Guard struct {
	store storage.ThrottleStore
	audit storage.AuditStore
	cfg   Config
	now   func() time.Time
	log   *slog.Logger
	// onRefused counts an attempt refused during a lock (OnRefused).
	onRefused func(kind string)
}

// New returns a Guard; now is the clock (nil means time.Now). It panics on
// a nil store or audit store, which is a wiring bug, not a runtime state.
func New(store storage.ThrottleStore, audit storage.AuditStore, cfg Config, now func() time.Time) *Guard {
	if store == nil || audit == nil {
		panic("throttle.New: nil store or audit store")
	}
	if now == nil {
		now = time.Now
	}
	return &Guard{store: store, audit: audit, cfg: cfg, now: now, log: slog.New(slog.DiscardHandler)}
}

// WithLogger makes the guard log through logger (the server's configured
// one; never Go's default logger). Call it before the guard is used.
func (g *Guard) WithLogger(logger *slog.Logger) *Guard {
	if logger != nil {
		g.log = logger
	}
	return g
}

// OnRefused sets the hook Refused calls with the key's kind (user, client,
// ip), e.g. a metrics counter. Call it before the guard is used.
func (g *Guard) OnRefused(fn func(kind string)) *Guard {
	g.onRefused = fn
	return g
}

// Refused counts one attempt refused because key was locked. It writes
// no audit event: the lock itself was audited once (AuditLocked), and a
// row per refused attempt would let an attacker fill the audit table at
// the rate limit; the attempts are counted instead.
func (g *Guard) Refused(ctx context.Context, key string) {
	if g.onRefused != nil {
		g.onRefused(kind(key))
	}
	g.log.DebugContext(ctx, "authentication refused during a lock", "kind", kind(key))
}

// Config returns the guard's configuration.
func (g *Guard) Config() Config { return g.cfg }

// Check reports whether any of keys is locked now, and until when (the
// latest lock among them). Call it before verifying a credential; when it
// reports locked, do not verify (so a correct guess during a lock is not
// revealed) and do not call Fail. An error means the store could not be
// read: fail closed (answer 5xx), do not skip the check.
func (g *Guard) Check(ctx context.Context, keys ...string) (lockedUntil time.Time, locked bool, err error) {
	if !g.cfg.Enabled {
		return time.Time{}, false, nil
	}
	now := g.now()
	for _, key := range keys {
		c, err := g.store.GetFailures(ctx, key)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return time.Time{}, false, fmt.Errorf("throttle: check %s: %w", kind(key), err)
		}
		if c.LockedUntil != nil && c.LockedUntil.After(now) && c.LockedUntil.After(lockedUntil) {
			lockedUntil, locked = *c.LockedUntil, true
		}
	}
	return lockedUntil, locked, nil
}

// Fail records one failed authentication for each account key and, when ip
// is not empty, for IPKey(ip); it sets a lock on every counter that
// reached its limit and writes one audit event per lock. userAgent only
// goes into the audit event. The caller answers the failed authentication
// as such whatever Fail returns; its error is for the log.
func (g *Guard) Fail(ctx context.Context, ip, userAgent string, keys ...string) error {
	if !g.cfg.Enabled {
		return nil
	}
	var errs []error
	for _, key := range keys {
		if err := g.failAccount(ctx, key, ip, userAgent); err != nil {
			errs = append(errs, err)
		}
	}
	if ip != "" && g.cfg.IPMaxFailures > 0 {
		if err := g.failIP(ctx, IPKey(ip), ip, userAgent); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// failAccount counts a failure of an account key: from MaxFailures on,
// each failure locks for BaseLock * 2^(failures-MaxFailures), capped.
func (g *Guard) failAccount(ctx context.Context, key, ip, userAgent string) error {
	now := g.now()
	c, err := g.store.RecordFailure(ctx, key, now, now.Add(-g.cfg.ResetAfter))
	if err != nil {
		return fmt.Errorf("throttle: record failure of %s: %w", kind(key), err)
	}
	if c.Failures < g.cfg.MaxFailures {
		return nil
	}
	return g.lock(ctx, c, now.Add(g.lockFor(c.Failures)), ip, userAgent)
}

// failIP counts a failure from one IP in a fixed window of IPWindow
// (countInWindow).
func (g *Guard) failIP(ctx context.Context, key, ip, userAgent string) error {
	now := g.now()
	c, err := countInWindow(ctx, g.store, key, now, g.cfg.IPWindow)
	if err != nil {
		return fmt.Errorf("throttle: record failure of ip: %w", err)
	}
	if c.Failures < g.cfg.IPMaxFailures {
		return nil
	}
	return g.lock(ctx, c, now.Add(g.cfg.IPWindow), ip, userAgent)
}

// lock sets the lock of counter c to until unless a longer one is already
// in force (a lock never shrinks), and audits it.
func (g *Guard) lock(ctx context.Context, c storage.FailureCounter, until time.Time, ip, userAgent string) error {
	if c.LockedUntil != nil && !until.After(*c.LockedUntil) {
		return nil
	}
	if err := g.store.SetLock(ctx, c.Key, until); err != nil {
		return fmt.Errorf("throttle: lock %s: %w", kind(c.Key), err)
	}
	now := g.now()
	g.log.InfoContext(ctx, "authentication locked", "kind", kind(c.Key),
		"failures", c.Failures, "locked_until", until.UTC().Format(time.RFC3339))
	ev := storage.AuditEvent{
		At:        now,
		Type:      AuditLocked,
		Actor:     "system",
		IP:        ip,
		UserAgent: userAgent,
		Outcome:   "failure",
		Details: map[string]string{
			"key":          c.Key,
			"failures":     strconv.Itoa(c.Failures),
			"locked_until": until.UTC().Format(time.RFC3339),
			"lock_seconds": strconv.FormatInt(int64(math.Ceil(until.Sub(now).Seconds())), 10),
		},
	}
	if id, ok := strings.CutPrefix(c.Key, prefixClient); ok {
		ev.ClientID = id
	}
	if err := g.audit.AppendAudit(ctx, ev); err != nil {
		return fmt.Errorf("throttle: audit lock of %s: %w", kind(c.Key), err)
	}
	return nil
}

// lockFor is the lock after the given number of consecutive failures
// (failures >= MaxFailures): BaseLock doubled per failure past the limit,
// capped at MaxLock.
func (g *Guard) lockFor(failures int) time.Duration {
	shift := failures - g.cfg.MaxFailures
	if shift >= 62 {
		return g.cfg.MaxLock
	}
	d := g.cfg.BaseLock << shift
	if d <= 0 || d > g.cfg.MaxLock || d>>shift != g.cfg.BaseLock { // overflow guard
		return g.cfg.MaxLock
	}
	return d
}

// Succeed forgets the failures of account keys after a successful
// authentication. IP keys are skipped on purpose: otherwise an attacker
// could reset the per-IP limit by logging into an account of their own
// between guesses.
func (g *Guard) Succeed(ctx context.Context, keys ...string) error {
	if !g.cfg.Enabled {
		return nil
	}
	for _, key := range keys {
		if isIPKey(key) {
			continue
		}
		if err := g.store.ResetFailures(ctx, key); err != nil {
			return fmt.Errorf("throttle: reset %s: %w", kind(key), err)
		}
	}
	return nil
}

// Unlock clears the counter and lock of key (UserKey, ClientKey or IPKey),
// for the admin API and the CLI. It works even when the guard is disabled.
// The caller writes its own audit event, since only it knows the actor.
func (g *Guard) Unlock(ctx context.Context, key string) error {
	if err := g.store.ResetFailures(ctx, key); err != nil {
		return fmt.Errorf("throttle: unlock %s: %w", kind(key), err)
	}
	return nil
}

// RetryAfter is the whole number of seconds (at least 1) until lockedUntil,
// for a Retry-After header.
func RetryAfter(lockedUntil, now time.Time) int {
	s := int(math.Ceil(lockedUntil.Sub(now).Seconds()))
	if s < 1 {
		return 1
	}
	return s
}

// kind names a key's kind for errors and logs without the account name.
func kind(key string) string {
	if strings.HasPrefix(key, prefixPair) {
		return "user" // a username from one address: still a user's lock
	}
	if i := strings.IndexByte(key, ':'); i > 0 {
		return key[:i]
	}
	return "key"
}

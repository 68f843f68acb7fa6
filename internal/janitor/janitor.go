package janitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Store is what the janitor deletes from; storage.Store satisfies it.
type Store interface {
	DeleteExpiredTokens(ctx context.Context, before time.Time, limit int) (int, error)
	DeleteExpiredGrants(ctx context.Context, before time.Time, limit int) (int, error)
	DeleteExpiredNonces(ctx context.Context, before time.Time, limit int) (int, error)
	DeleteExpiredSessions(ctx context.Context, before time.Time, limit int) (int, error)
	DeleteExpiredFlows(ctx context.Context, before time.Time, limit int) (int, error)
	DeleteExpiredDeviceGrants(ctx context.Context, before time.Time, limit int) (int, error)
	DeleteAuditBefore(ctx context.Context, before time.Time, limit int) (int, error)
	DeleteStaleCounters(ctx context.Context, before time.Time, limit int) (int, error)
	DeleteStaleLinkTokens(ctx context.Context, before time.Time, limit int) (int, error)
	DeleteOldMail(ctx context.Context, before time.Time, limit int) (int, error)
}

// Defaults applied by New to zero Options fields.
const (
	DefaultInterval       = 10 * time.Minute
	DefaultBatch          = 1000
	DefaultGrace          = 5 * time.Minute
	DefaultAuditRetention = 90 * 24 * time.Hour
	// DefaultMailRetention bounds the outgoing-mail queue: a message
	// (sent or not) is deleted this long after it was queued. Its links
	// expire within a day, so an older message is useless anyway.
	DefaultMailRetention = 7 * 24 * time.Hour
	// DefaultCounterWindow is throttle.DefaultConfig().CounterWindow().
	DefaultCounterWindow = 12 * time.Hour
	// LockName is the lock every instance's janitor competes for.
	LockName = "sesame-janitor"
)

// Options configures a Janitor.
type Options struct {
	// Interval between passes (default 10m).
	Interval time.Duration
	// Batch is the most rows one DELETE removes (default 1000).
	Batch int
	// Grace: a row is deleted once it has been expired this long (0 =
	// as soon as it expires). DefaultGrace is SESAME_JANITOR_GRACE's
	// default.
	Grace time.Duration
	// AuditRetention: audit events older than this are deleted (default
	// 90 days). KeepAudit disables audit deletion altogether.
	AuditRetention time.Duration
	KeepAudit      bool
	// MailRetention: queued mail older than this is deleted (default
	// DefaultMailRetention).
	MailRetention time.Duration
	// CounterWindow is how long after its last failure a brute-force
	// failure counter can still count toward a lock: the guard's
	// throttle.Config.CounterWindow() (default DefaultCounterWindow). A
	// counter is deleted once it has been idle, and its lock over, for
	// CounterWindow + Grace; a shorter window than the guard's would let
	// failures be forgotten early.
	CounterWindow time.Duration
	// Locker makes one instance sweep at a time (default: a LocalLocker,
	// right for one process only).
	Locker Locker
	// OnDeleted, if set, is told how many rows of each table a pass
	// deleted (metrics). It is called once per table per pass.
	OnDeleted func(table string, n int)
	Now       func() time.Time
	Logger    *slog.Logger
}

// Janitor deletes expired rows. Run it with Run; RunOnce is one pass.
type Janitor struct {
	store Store
	opts  Options
	log   *slog.Logger
}

// New checks opts and fills in defaults.
func New(store Store, opts Options) (*Janitor, error) {
	if store == nil {
		return nil, errors.New("janitor: nil Store")
	}
	switch {
	case opts.Interval < 0:
		return nil, fmt.Errorf("janitor: Interval must not be negative, got %s", opts.Interval)
	case opts.Batch < 0:
		return nil, fmt.Errorf("janitor: Batch must not be negative, got %d", opts.Batch)
	case opts.Grace < 0:
		return nil, fmt.Errorf("janitor: Grace must not be negative, got %s", opts.Grace)
	case opts.AuditRetention < 0:
		return nil, fmt.Errorf("janitor: AuditRetention must not be negative, got %s", opts.AuditRetention)
	case opts.MailRetention < 0:
		return nil, fmt.Errorf("janitor: MailRetention must not be negative, got %s", opts.MailRetention)
	case opts.CounterWindow < 0:
		return nil, fmt.Errorf("janitor: CounterWindow must not be negative, got %s", opts.CounterWindow)
	}
	if opts.Interval == 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Batch == 0 {
		opts.Batch = DefaultBatch
	}
	if opts.AuditRetention == 0 {
		opts.AuditRetention = DefaultAuditRetention
	}
	if opts.MailRetention == 0 {
		opts.MailRetention = DefaultMailRetention
	}
	if opts.CounterWindow == 0 {
		opts.CounterWindow = DefaultCounterWindow
	}
	if opts.Locker == nil {
		opts.Locker = &LocalLocker{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Janitor{store: store, opts: opts, log: opts.Logger.With("component", "janitor")}, nil
}

// Result is what one pass did.
type Result struct {
	// Ran is false when another instance held the lock and this pass
	// did nothing.
	Ran bool
	// Deleted counts rows per table: tokens, grants, nonces, sessions,
	// flows, failure_counters, link_tokens, mail_queue, audit_events.
	Deleted map[string]int
}

// sweep is one table's deletion.
type sweep struct {
	table  string
	before time.Time
	del    func(ctx context.Context, before time.Time, limit int) (int, error)
}

// RunOnce takes the lock and, if it got it, deletes every expired row in
// batches. Tokens go before grants so that a family's rows never outlive
// the grant that says whether they are revoked.
func (j *Janitor) RunOnce(ctx context.Context) (Result, error) {
	unlock, ok, err := j.opts.Locker.TryLock(ctx, LockName)
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return Result{}, nil
	}
	defer unlock()

	now := j.opts.Now()
	expired := now.Add(-j.opts.Grace)
	sweeps := []sweep{
		{"tokens", expired, j.store.DeleteExpiredTokens},
		{"grants", expired, j.store.DeleteExpiredGrants},
		{"nonces", expired, j.store.DeleteExpiredNonces},
		{"sessions", expired, j.store.DeleteExpiredSessions},
		{"flows", expired, j.store.DeleteExpiredFlows},
		{"device_grants", expired, j.store.DeleteExpiredDeviceGrants},
		// Idle past the guard's window and unlocked: such a counter would
		// restart from 1 at its next failure, so deleting it forgets
		// nothing. Grace absorbs clock skew here too.
		{"failure_counters", expired.Add(-j.opts.CounterWindow), j.store.DeleteStaleCounters},
		{"link_tokens", expired, j.store.DeleteStaleLinkTokens},
		{"mail_queue", now.Add(-j.opts.MailRetention), j.store.DeleteOldMail},
	}
	if !j.opts.KeepAudit {
		sweeps = append(sweeps, sweep{"audit_events", now.Add(-j.opts.AuditRetention), j.store.DeleteAuditBefore})
	}
	res := Result{Ran: true, Deleted: make(map[string]int, len(sweeps))}
	var errs []error
	for _, s := range sweeps {
		n, err := j.drain(ctx, s)
		res.Deleted[s.table] = n
		if j.opts.OnDeleted != nil {
			j.opts.OnDeleted(s.table, n)
		}
		if err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
	}
	return res, errors.Join(errs...)
}

// drain deletes batches until one comes back short of the limit.
func (j *Janitor) drain(ctx context.Context, s sweep) (int, error) {
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("janitor: %s: %w", s.table, err)
		}
		n, err := s.del(ctx, s.before, j.opts.Batch)
		total += n
		if err != nil {
			return total, fmt.Errorf("janitor: delete from %s: %w", s.table, err)
		}
		if n < j.opts.Batch {
			return total, nil
		}
	}
}

// Run makes a pass now and then every Interval until ctx ends. Failures
// (database down) are logged and retried at the next tick.
func (j *Janitor) Run(ctx context.Context) {
	t := time.NewTicker(j.opts.Interval)
	defer t.Stop()
	for {
		start := time.Now()
		res, err := j.RunOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			j.log.Warn("janitor pass failed", "err", err, "deleted", res.Deleted)
		case res.Ran:
			j.log.Debug("janitor pass done", "deleted", res.Deleted, "duration", time.Since(start))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

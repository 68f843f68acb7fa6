package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// Sender delivers one message; *SMTP is the real one.
type Sender interface {
	Send(ctx context.Context, m storage.Mail) error
}

// WorkerOptions configures a Worker; zero fields get the defaults below.
type WorkerOptions struct {
	Interval   time.Duration // poll interval (default 5s)
	Lease      time.Duration // how long a claim holds (default 2m; longer than one delivery)
	Batch      int           // messages per claim (default 20)
	MinBackoff time.Duration // first retry delay (default 10s), doubling per attempt
	MaxBackoff time.Duration // cap (default 30m)
	// OnResult, if set, is told each delivery's outcome (metrics).
	OnResult func(sent bool)
	Now      func() time.Time
	Logger   *slog.Logger
}

// Worker drains the queue. Several workers (in one or many processes)
// may run against one store: each message is leased to one of them.
type Worker struct {
	store  storage.MailStore
	sender Sender
	id     string
	opts   WorkerOptions
	log    *slog.Logger
	wake   chan struct{}
}

// NewWorker checks its dependencies and fills in defaults.
func NewWorker(store storage.MailStore, sender Sender, opts WorkerOptions) (*Worker, error) {
	if store == nil || sender == nil {
		return nil, errors.New("mail: NewWorker needs a store and a sender")
	}
	if opts.Interval <= 0 {
		opts.Interval = 5 * time.Second
	}
	if opts.Lease <= 0 {
		opts.Lease = 2 * time.Minute
	}
	if opts.Batch <= 0 {
		opts.Batch = 20
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 10 * time.Second
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(30*time.Minute, opts.MinBackoff)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("mail: worker id: %w", err)
	}
	id := hex.EncodeToString(b[:])
	return &Worker{store: store, sender: sender, id: id, opts: opts,
		log: opts.Logger.With("component", "mail", "worker", id), wake: make(chan struct{}, 1)}, nil
}

// Backoff is the delay before attempt n+1 after n failed attempts.
func (w *Worker) Backoff(failed int) time.Duration {
	d := w.opts.MinBackoff
	for i := 1; i < failed && d < w.opts.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, w.opts.MaxBackoff)
}

// Wake asks a running worker to poll now (after an enqueue commits).
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run polls until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(w.opts.Interval)
	defer t.Stop()
	for {
		if _, _, err := w.RunOnce(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("mail queue pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.wake:
		}
	}
}

// RunOnce claims one batch of due mail and delivers it, recording each
// outcome. A delivery error is not returned (it is recorded on the
// message and retried later); a store error is.
func (w *Worker) RunOnce(ctx context.Context) (sent, failed int, err error) {
	now := w.opts.Now()
	ms, err := w.store.ClaimMail(ctx, w.id, now, now.Add(w.opts.Lease), w.opts.Batch)
	if err != nil {
		return 0, 0, fmt.Errorf("mail: claim: %w", err)
	}
	for _, m := range ms {
		sendCtx, cancel := context.WithTimeout(ctx, w.opts.Lease/2)
		sendErr := w.sender.Send(sendCtx, m)
		cancel()
		at := w.opts.Now()
		if sendErr == nil {
			if err := w.store.MarkMailSent(ctx, m.ID, w.id, at); err != nil {
				// Delivered but not recorded: after the lease another
				// worker may send it again. Nothing better is possible
				// without a two-phase commit with the SMTP server.
				return sent, failed, fmt.Errorf("mail: mark %s sent: %w", m.ID, err)
			}
			sent++
			w.report(true)
			w.audit(ctx, "mail.sent", "success", m, at, "")
			w.log.Info("mail sent", "id", m.ID, "attempt", m.Attempts+1)
			continue
		}
		next := at.Add(w.Backoff(m.Attempts + 1))
		msg := sendErr.Error()
		if len(msg) > 500 {
			msg = msg[:500]
		}
		if err := w.store.MarkMailFailed(ctx, m.ID, w.id, msg, next); err != nil {
			return sent, failed, fmt.Errorf("mail: mark %s failed: %w", m.ID, err)
		}
		failed++
		w.report(false)
		w.audit(ctx, "mail.failed", "failure", m, at, msg)
		w.log.Warn("mail delivery failed, will retry", "id", m.ID, "attempt", m.Attempts+1, "next", next, "err", sendErr)
	}
	return sent, failed, nil
}

// auditor is the audit trail of a store that has one (storage.Store).
type auditor interface {
	AppendAudit(ctx context.Context, e storage.AuditEvent) error
}

// audit records a delivery outcome when the store keeps an audit trail.
// The message is already sent or rescheduled, so a failure to record is
// logged, not returned. Bodies (which carry link tokens) are never logged.
func (w *Worker) audit(ctx context.Context, typ, outcome string, m storage.Mail, at time.Time, lastErr string) {
	a, ok := w.store.(auditor)
	if !ok {
		return
	}
	d := map[string]string{"mail_id": m.ID, "recipient": m.Recipient, "attempt": strconv.Itoa(m.Attempts + 1)}
	if lastErr != "" {
		d["error"] = lastErr
	}
	if err := a.AppendAudit(ctx, storage.AuditEvent{At: at.UTC().Truncate(time.Microsecond), Type: typ, Actor: "system:mail",
		Outcome: outcome, Details: d}); err != nil {
		w.log.Warn("mail: audit", "type", typ, "id", m.ID, "err", err)
	}
}

func (w *Worker) report(sent bool) {
	if w.opts.OnResult != nil {
		w.opts.OnResult(sent)
	}
}

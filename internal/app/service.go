package app

import (
	"context"
	"fmt"
	"time"

	"github.com/sesameauth/sesame/internal/password"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
)

// Service runs the administrative use cases against one store.
type Service struct {
	store Store
	ring  *secret.Keyring
	pw    password.Params
	now   func() time.Time
	// minPassword is the password policy's minimum length (CheckPassword).
	minPassword int
	// accounts are the self-service account settings (signup.go).
	accounts AccountSettings
	// limiter and mailLimits bound self-service mail (limits.go); nil
	// limiter: no limits.
	limiter    *throttle.Limiter
	mailLimits MailLimits
	// mailQueued is told after a transaction that enqueued mail commits
	// (WithMailNotify); nil: the worker finds the mail at its next poll.
	mailQueued func()
}

// New builds a Service. now may be nil (time.Now).
func New(store Store, ring *secret.Keyring, pw password.Params, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, ring: ring, pw: pw, now: now, minPassword: DefaultPasswordMinLength, mailLimits: DefaultMailLimits,
		accounts: AccountSettings{}.withDefaults()}
}

// WithStore returns a copy of s, with every setting, on another store (the
// admin API's wrapper that stamps audit events with the caller).
func (s *Service) WithStore(st Store) *Service {
	c := *s
	c.store = st
	return &c
}

// PasswordParams are the argon2id parameters new hashes use.
func (s *Service) PasswordParams() password.Params { return s.pw }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// audit appends one success event; it runs inside the caller's transaction.
func (s *Service) audit(ctx context.Context, actor, typ, clientID, userID string, details map[string]string) error {
	if actor == "" {
		actor = "system"
	}
	err := s.store.AppendAudit(ctx, storage.AuditEvent{
		At:       s.clock(),
		Type:     typ,
		Actor:    actor,
		ClientID: clientID,
		UserID:   userID,
		Outcome:  "success",
		Details:  details,
	})
	if err != nil {
		return fmt.Errorf("audit %s: %w", typ, err)
	}
	return nil
}

// WithMailNotify returns a copy of s that calls fn once a transaction
// that enqueued mail has committed, so this instance's mail worker sends
// it at once rather than at its next poll (up to 5 s later: the user
// waiting for a reset link). fn must not block.
func (s *Service) WithMailNotify(fn func()) *Service {
	c := *s
	c.mailQueued = fn
	return &c
}

// mailMark records, for the outermost inTx, that mail was enqueued in it.
type mailMark struct{ queued bool }

type mailMarkKey struct{}

func (s *Service) inTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if s.mailQueued == nil {
		return storage.InTx(ctx, s.store, fn)
	}
	if _, nested := ctx.Value(mailMarkKey{}).(*mailMark); nested {
		return storage.InTx(ctx, s.store, fn) // the outermost call tells
	}
	m := &mailMark{}
	err := storage.InTx(context.WithValue(ctx, mailMarkKey{}, m), s.store, fn)
	if err == nil && m.queued {
		s.mailQueued()
	}
	return err
}

// mailEnqueued marks ctx's transaction as having enqueued mail; outside
// one (the write has already committed) it tells at once.
func (s *Service) mailEnqueued(ctx context.Context) {
	if s.mailQueued == nil {
		return
	}
	if m, ok := ctx.Value(mailMarkKey{}).(*mailMark); ok {
		m.queued = true
		return
	}
	s.mailQueued()
}

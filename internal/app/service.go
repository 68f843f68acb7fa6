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
	store storage.Store
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
}

// New builds a Service. now may be nil (time.Now).
func New(store storage.Store, ring *secret.Keyring, pw password.Params, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, ring: ring, pw: pw, now: now, minPassword: DefaultPasswordMinLength, mailLimits: DefaultMailLimits}
}

// WithStore returns a copy of s, with every setting, on another store (the
// admin API's wrapper that stamps audit events with the caller).
func (s *Service) WithStore(st storage.Store) *Service {
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

func (s *Service) inTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return storage.InTx(ctx, s.store, fn)
}

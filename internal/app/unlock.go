package app

import (
	"context"

	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
)

// AuditUnlocked is the audit event of an administrative unlock (the lock
// itself is throttle.AuditLocked). `sesame users|clients unlock` write the
// same type, actor and details.
const AuditUnlocked = "auth.unlocked"

// UnlockUser clears the brute-force counter and lock of an existing user's
// login name (web /login and the password grant), found by id or username.
// The counter is keyed by the username, so unlocking by id works too.
func (s *Service) UnlockUser(ctx context.Context, actor, idOrUsername string) (storage.User, error) {
	var out storage.User
	err := s.inTx(ctx, func(ctx context.Context) error {
		u, err := s.GetUser(ctx, idOrUsername)
		if err != nil {
			return err
		}
		out = u
		return s.unlock(ctx, actor, throttle.UserKey(u.Username), "", u.ID)
	})
	return out, err
}

// UnlockClient clears the brute-force counter and lock of an existing
// client (client authentication at the token, introspection and revocation
// endpoints).
func (s *Service) UnlockClient(ctx context.Context, actor, id string) (storage.Client, error) {
	var out storage.Client
	err := s.inTx(ctx, func(ctx context.Context) error {
		c, err := s.GetClient(ctx, id)
		if err != nil {
			return err
		}
		out = c
		return s.unlock(ctx, actor, throttle.ClientKey(c.ID), c.ID, "")
	})
	return out, err
}

// UnlockKey clears the brute-force counter and lock of a throttle key as
// given, with the same audit event, whether or not an account stands
// behind it: `sesame users unlock` also lifts a lock on a name that has no
// account (failures are counted under whatever was typed). userID and
// clientID only label the event.
func (s *Service) UnlockKey(ctx context.Context, actor, key, clientID, userID string) error {
	return s.inTx(ctx, func(ctx context.Context) error { return s.unlock(ctx, actor, key, clientID, userID) })
}

// unlock clears key and audits it; it runs inside the caller's transaction
// so the event exists exactly when the unlock happened.
func (s *Service) unlock(ctx context.Context, actor, key, clientID, userID string) error {
	// The guard's settings do not matter to Unlock, which works even when
	// brute-force protection is switched off.
	g := throttle.New(s.store, s.store, throttle.DefaultConfig(), s.now)
	if err := g.Unlock(ctx, key); err != nil {
		return err
	}
	return s.audit(ctx, actor, AuditUnlocked, clientID, userID, map[string]string{"key": key})
}

package oauth

import (
	"context"
	"errors"

	"github.com/ory/fosite"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
)

// auditPasswordGrant is the audit type of a password-grant sign-in, the
// same as the web login's.
const auditPasswordGrant = "user.login"

// Authenticate checks a resource owner's password for the password grant
// through the one password check (app.Passwords.Verify: limits, lock,
// dummy hash, Disabled, rehash) and returns the user id (the subject).
// Unknown user, wrong password and disabled user all return
// fosite.ErrNotFound, which fosite answers with invalid_grant; a lock
// returns a *lockedError (lockedAnswer, setRetryAfter).
func (f *fositeStore) Authenticate(ctx context.Context, name, pw string) (string, error) {
	who := callerOf(ctx)
	u, err := f.passwords.Verify(ctx, app.PasswordAttempt{Username: name, Password: pw, IP: who.ip, UserAgent: who.userAgent})
	ev := storage.AuditEvent{Type: auditPasswordGrant, Actor: "anonymous", ClientID: who.client(),
		IP: who.ip, UserAgent: who.userAgent, Outcome: "failure", Details: map[string]string{"grant_type": "password"}}
	var le *app.LockedError
	switch {
	case errors.As(err, &le):
		// Counted by the guard, not audited: the lock has its one event.
		return "", &lockedError{until: le.Until}
	case errors.Is(err, app.ErrInvalidCredentials):
		f.auditEvent(ctx, ev)
		return "", fosite.ErrNotFound.WithDebug("invalid credentials")
	case errors.Is(err, app.ErrEmailUnverified):
		var ue *app.UnverifiedError
		if errors.As(err, &ue) {
			ev.Actor, ev.UserID = "user:"+ue.UserID, ue.UserID
		}
		ev.Details["reason"] = "email not verified"
		f.auditEvent(ctx, ev)
		return "", err
	case err != nil:
		stateOf(ctx).failStore(err)
		return "", err
	}
	refuse, err := f.refuseSecondFactorUsers(ctx, u.ID)
	if err != nil {
		stateOf(ctx).failStore(err)
		return "", err
	}
	if refuse {
		ev.Actor, ev.UserID = "user:"+u.ID, u.ID
		ev.Details["reason"] = "second factor required"
		f.auditEvent(ctx, ev)
		return "", errSecondFactorRequired
	}
	ev.Actor, ev.UserID, ev.Outcome = "user:"+u.ID, u.ID, "success"
	f.auditEvent(ctx, ev)
	st := stateOf(ctx)
	st.mu.Lock()
	st.username = u.Username
	st.mu.Unlock()
	return u.ID, nil
}

// auditEvent appends an event; a failure is logged, never answered, since
// the authentication outcome stands.
func (f *fositeStore) auditEvent(ctx context.Context, e storage.AuditEvent) {
	e.At = f.now().UTC()
	if len(e.UserAgent) > 256 {
		e.UserAgent = e.UserAgent[:256]
	}
	if err := f.s.AppendAudit(ctx, e); err != nil {
		f.logger.WarnContext(ctx, "oauth: audit", "type", e.Type, "err", err)
	}
}

package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
)

// errBadCredentials is the single failure the login form reports, whatever
// the reason (unknown user, wrong password, disabled account), so the form
// cannot be used to find out which usernames exist.
var errBadCredentials = app.ErrInvalidCredentials

// errLocked: brute-force protection refused the attempt.
var errLocked = app.ErrLocked

// checkPassword runs the one password check (app.Passwords.Verify: limits,
// lock, dummy hash, Disabled, rehash) for a form post and adds what only
// HTTP knows: the client address, Retry-After on a lock, the audit event
// of a failed attempt.
// reauth: a signed-in user confirms their password (app.PasswordAttempt).
func (h *Handler) checkPassword(w http.ResponseWriter, r *http.Request, username, pw string, reauth bool) (storage.User, error) {
	ctx := r.Context()
	u, err := h.passwords.Verify(ctx, app.PasswordAttempt{
		Username: username, Password: pw, IP: clientIP(r), UserAgent: r.UserAgent(), Reauth: reauth,
	})
	var le *app.LockedError
	switch {
	case errors.As(err, &le):
		w.Header().Set("Retry-After", strconv.Itoa(throttle.RetryAfter(le.Until, h.now())))
	case errors.Is(err, errBadCredentials):
		h.log.InfoContext(ctx, "web: login failed")
		h.audit(ctx, r, auditLogin, "", "", outcomeFailure)
	}
	return u, err
}

package oauth

import (
	"context"

	"github.com/ory/fosite"

	"github.com/sesameauth/sesame/internal/password"
)

// Authenticate checks a resource owner's password for the password grant
// and returns the user id (the subject). Unknown users are verified
// against a dummy hash so that the answer takes as long as for a known
// user; unknown user, wrong password and disabled user all return
// fosite.ErrNotFound, which fosite answers with invalid_grant.
func (f *fositeStore) Authenticate(ctx context.Context, name, pw string) (string, error) {
	return f.guardPassword(ctx, name, func() (string, error) { return f.authenticate(ctx, name, pw) })
}

func (f *fositeStore) authenticate(ctx context.Context, name, pw string) (string, error) {
	u, err := f.s.GetUserByUsername(ctx, name)
	if isNotFound(err) {
		password.VerifyDummy(pw, f.pwParams)
		return "", fosite.ErrNotFound.WithDebug("invalid credentials")
	} else if err != nil {
		return "", f.fail(ctx, "get user", err)
	}
	ok, _, err := password.Verify(pw, u.PasswordHash)
	if err != nil {
		// An unreadable hash is a data problem of this one user: log
		// it, and refuse like a wrong password.
		f.logger.ErrorContext(ctx, "oauth: cannot verify user password hash", "user_id", u.ID, "err", err)
		return "", fosite.ErrNotFound.WithDebug("invalid credentials")
	}
	// The disabled check comes after the hash so timing does not reveal it.
	if !ok || u.Disabled {
		return "", fosite.ErrNotFound.WithDebug("invalid credentials")
	}
	st := stateOf(ctx)
	st.mu.Lock()
	st.username = u.Username
	st.mu.Unlock()
	return u.ID, nil
}

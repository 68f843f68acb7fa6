package web

import (
	"context"
	"errors"
	"fmt"

	"github.com/sesameauth/sesame/internal/password"
	"github.com/sesameauth/sesame/storage"
)

// errBadCredentials is the single failure the login form reports, whatever
// the reason (unknown user, wrong password, disabled account), so the form
// cannot be used to find out which usernames exist.
var errBadCredentials = errors.New("web: bad credentials")

// authenticate checks a username and password. Every failing path spends
// one argon2id computation, so response time does not tell an unknown
// username from a wrong password either.
func (h *Handler) authenticate(ctx context.Context, username, pw string) (storage.User, error) {
	if username == "" || pw == "" || len(pw) > password.MaxLength {
		password.VerifyDummy(pw, h.params)
		return storage.User{}, errBadCredentials
	}
	u, err := h.store.GetUserByUsername(ctx, username)
	if errors.Is(err, storage.ErrNotFound) {
		password.VerifyDummy(pw, h.params)
		return storage.User{}, errBadCredentials
	}
	if err != nil {
		return storage.User{}, fmt.Errorf("web: load user: %w", err)
	}
	ok, _, err := password.Verify(pw, u.PasswordHash)
	if err != nil {
		// A malformed stored hash: the user cannot sign in until an admin
		// sets a password. Burn the same time and fail generically.
		h.log.WarnContext(ctx, "web: stored password hash unusable", "user_id", u.ID, "err", err)
		password.VerifyDummy(pw, h.params)
		return storage.User{}, errBadCredentials
	}
	if !ok || u.Disabled {
		return storage.User{}, errBadCredentials
	}
	if password.NeedsRehash(u.PasswordHash, h.params) {
		h.rehash(ctx, u, pw)
	}
	return u, nil
}

// rehash upgrades a hash made with older parameters; failure only costs
// another attempt at the next login.
func (h *Handler) rehash(ctx context.Context, u storage.User, pw string) {
	enc, err := password.Hash(pw, h.params)
	if err != nil {
		h.log.WarnContext(ctx, "web: rehash", "user_id", u.ID, "err", err)
		return
	}
	// UpdatedAt is left alone: it is the profile's updated_at claim and
	// a new hash changes nothing an app can see.
	u.PasswordHash = enc
	if err := h.store.UpdateUser(ctx, u); err != nil {
		h.log.WarnContext(ctx, "web: store rehash", "user_id", u.ID, "err", err)
	}
}

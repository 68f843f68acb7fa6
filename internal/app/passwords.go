package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/sesameauth/sesame/internal/password"
	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
)

// MaxUsernameBytes bounds a submitted username before anything is done
// with it (lookup, counter key). Real usernames are at most 64 characters
// (checkUsername), so 256 bytes fits every one of them in UTF-8.
const MaxUsernameBytes = 256

// ErrLocked is wrapped by the *LockedError Verify returns while
// brute-force protection refuses an attempt.
var ErrLocked = errors.New("sign-in locked after repeated failures")

// LockedError is an attempt refused because of a lock, until Until. Its
// message (throttle.Message for people) is the same for real and unknown
// usernames.
type LockedError struct{ Until time.Time }

func (e *LockedError) Error() string {
	return ErrLocked.Error() + " until " + e.Until.UTC().Format(time.RFC3339)
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// PasswordAttempt is one sign-in with a username and password, from IP
// (the client address, trusted proxies honoured) with UserAgent (only for
// the audit trail of a lock).
type PasswordAttempt struct {
	Username, Password string
	IP, UserAgent      string
	// Reauth: a signed-in user confirms their password (account page,
	// second-factor changes). The sign-in rules beyond the password
	// itself (a verified email, WithRequireVerifiedEmail) do not apply.
	Reauth bool
}

// ErrEmailUnverified is wrapped by the *UnverifiedError Verify returns
// for a right password of a user whose email is not verified yet while
// SESAME_REQUIRE_VERIFIED_EMAIL is on.
var ErrEmailUnverified = errors.New("sign-in needs a verified email address")

// UnverifiedError is a sign-in refused until the user verifies Email. It
// is returned only after the password was right, so it tells nothing to
// someone who does not know the password.
type UnverifiedError struct {
	UserID, Email string
}

func (e *UnverifiedError) Error() string { return ErrEmailUnverified.Error() }
func (e *UnverifiedError) Unwrap() error { return ErrEmailUnverified }

// passwordStore is what Passwords needs from the store.
type passwordStore interface {
	storage.Transactor
	GetUser(ctx context.Context, id string) (storage.User, error)
	GetUserByUsername(ctx context.Context, username string) (storage.User, error)
	UpdateUser(ctx context.Context, u storage.User) error
	RecordLogin(ctx context.Context, id string, at time.Time) error
}

// Passwords is the one place a password is checked: the web login, the
// account page's "current password", and the password grant all call
// Verify.
type Passwords struct {
	store  passwordStore
	guard  *throttle.Guard // nil: no brute-force protection
	params password.Params
	log    *slog.Logger
	// requireVerified: SESAME_REQUIRE_VERIFIED_EMAIL.
	requireVerified bool
}

// WithRequireVerifiedEmail makes sign-in (not Reauth) refuse a user
// whose email address is set and not verified, with an *UnverifiedError
// (SESAME_REQUIRE_VERIFIED_EMAIL). A user without any address (made by an
// operator without --email) has nothing to verify and is not refused.
// Call it before use.
func (p *Passwords) WithRequireVerifiedEmail(on bool) *Passwords {
	p.requireVerified = on
	return p
}

// NewPasswords builds the password check. guard may be nil (no
// brute-force protection), logger nil (discard); zero params mean
// password.DefaultParams.
func NewPasswords(store passwordStore, guard *throttle.Guard, params password.Params, logger *slog.Logger) *Passwords {
	if params == (password.Params{}) {
		params = password.DefaultParams
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Passwords{store: store, guard: guard, params: params, log: logger}
}

// Verify checks a username and password behind the brute-force guard.
//
//   - The username is trimmed; both inputs are bounded (MaxUsernameBytes,
//     password.MaxLength) before any lookup.
//   - A lock (of this username from this address, or of this address) is
//     checked first; while it holds nothing is verified (a right guess
//     reveals nothing) and a *LockedError is returned. A username under
//     attack from elsewhere is slowed down, never locked (throttle's
//     password policy), so a stranger cannot lock its owner out.
//   - An unknown user, a disabled user, a user without a usable hash, an
//     over-long password and a wrong password all return
//     ErrInvalidCredentials after one argon2id computation, and all count
//     as a failure under the submitted username, so neither the answer,
//     its timing nor a later lock tells which usernames exist.
//   - On success a hash made with other parameters — or imported from
//     Django — is replaced by an argon2id hash with the current ones, and
//     the user's last_login_at is set (one UPDATE).
//
// Any other error is the store's: the caller answers 5xx (fail closed).
func (p *Passwords) Verify(ctx context.Context, a PasswordAttempt) (storage.User, error) {
	name, pw := bounded(a)
	var u storage.User
	err := p.guarded(ctx, name, a, func(ctx context.Context) error {
		var err error
		u, err = p.verify(ctx, name, pw, a.Reauth)
		return err
	})
	if err != nil {
		return storage.User{}, err
	}
	return u, nil
}

// VerifyExternal runs check — a password check another system owns (an
// LDAP directory binding as the user) — behind the very guard of Verify:
// the same locks, slow-down, failure counting and audit of a lock. The
// counter key is realm + "/" + the username ('/' never occurs in a local
// username, so a directory's "alice" and the local "alice" are counted
// apart). check returns ErrInvalidCredentials for a wrong username or
// password; any other error is not counted and is returned as is (the
// directory being down is no guess).
func (p *Passwords) VerifyExternal(ctx context.Context, realm string, a PasswordAttempt, check func(ctx context.Context, username, password string) error) error {
	name, pw := bounded(a)
	return p.guarded(ctx, realm+"/"+name, a, func(ctx context.Context) error { return check(ctx, name, pw) })
}

// bounded trims the username and bounds both inputs before anything is
// done with them.
func bounded(a PasswordAttempt) (name, pw string) {
	name, pw = strings.TrimSpace(a.Username), a.Password
	if len(name) > MaxUsernameBytes {
		name = name[:MaxUsernameBytes]
		pw = "" // refused by the check, after the same work
	}
	return name, pw
}

// guarded is the brute-force guard around one check of key's password.
func (p *Passwords) guarded(ctx context.Context, key string, a PasswordAttempt, check func(ctx context.Context) error) error {
	var d throttle.Decision
	if p.guard != nil {
		var err error
		if d, err = p.guard.CheckPassword(ctx, key, a.IP); err != nil {
			return fmt.Errorf("check sign-in lock: %w", err)
		}
		if d.Locked {
			// Counted, not audited: the lock has its one audit event.
			p.guard.RefusedPassword(ctx, key, a.IP)
			return &LockedError{Until: d.Until}
		}
		if err := p.wait(ctx, d.Delay); err != nil {
			return err
		}
	}
	err := check(ctx)
	switch {
	case errors.Is(err, ErrInvalidCredentials):
		if p.guard != nil {
			if ferr := p.guard.FailPassword(ctx, key, a.IP, a.UserAgent); ferr != nil {
				p.log.WarnContext(ctx, "record failed sign-in", "err", ferr)
			}
		}
		return err
	case err != nil:
		return err
	}
	if p.guard != nil {
		if serr := p.guard.SucceedPassword(ctx, d); serr != nil {
			p.log.WarnContext(ctx, "reset failed sign-ins", "err", serr)
		}
	}
	return nil
}

// wait is the per-account slow-down (throttle.Decision.Delay). It ends
// early, with an error, when the request is cancelled.
func (p *Passwords) wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("sign-in slow-down: %w", ctx.Err())
	}
}

// verify is the check itself, with exactly one argon2id computation on
// every path that fails.
func (p *Passwords) verify(ctx context.Context, name, pw string, reauth bool) (storage.User, error) {
	if name == "" || pw == "" || len(pw) > password.MaxLength {
		password.VerifyDummy(pw, p.params)
		return storage.User{}, ErrInvalidCredentials
	}
	u, err := p.store.GetUserByUsername(ctx, name)
	if errors.Is(err, storage.ErrNotFound) {
		password.VerifyDummy(pw, p.params)
		return storage.User{}, ErrInvalidCredentials
	}
	if err != nil {
		return storage.User{}, fmt.Errorf("load user: %w", err)
	}
	if u.PasswordHash == "" {
		password.VerifyDummy(pw, p.params)
		return storage.User{}, ErrInvalidCredentials
	}
	ok, _, err := password.Verify(pw, u.PasswordHash)
	if err != nil {
		// A malformed or unsupported stored hash: this user cannot sign
		// in until an administrator sets a password. Same time, same
		// answer as a wrong password.
		p.log.WarnContext(ctx, "stored password hash unusable", "user_id", u.ID, "err", err)
		password.VerifyDummy(pw, p.params)
		return storage.User{}, ErrInvalidCredentials
	}
	// Disabled is checked after the hash so timing does not reveal it.
	if !ok || u.Disabled {
		return storage.User{}, ErrInvalidCredentials
	}
	if password.NeedsRehash(u.PasswordHash, p.params) {
		p.rehash(ctx, u.ID, u.PasswordHash, pw)
	}
	if p.requireVerified && !reauth && u.Email != "" && !u.EmailVerified {
		// After the password: only someone who knew it learns that the
		// address is unverified. Not a failure for the guard, and no
		// sign-in to record.
		return storage.User{}, &UnverifiedError{UserID: u.ID, Email: u.Email}
	}
	p.recordLogin(ctx, &u)
	return u, nil
}

// recordLogin stores when the user last signed in (Django's last_login):
// one UPDATE of that column, no read. Best effort, like rehash: the
// sign-in already succeeded and refusing it over a bookkeeping write
// would lock users out during a store hiccup that reads survive.
func (p *Passwords) recordLogin(ctx context.Context, u *storage.User) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := p.store.RecordLogin(ctx, u.ID, now); err != nil {
		p.log.WarnContext(ctx, "record last login", "user_id", u.ID, "err", err)
		return
	}
	u.LastLoginAt = &now
}

// rehash stores a hash with the current parameters (argon2id; Django
// hashes are upgraded here on first sign-in). It is best effort: the
// sign-in already succeeded and the old hash stays valid. The row is
// re-read in a transaction and updated only if nothing changed it
// meanwhile (a concurrent disable or password change wins). UpdatedAt is
// left alone: it is the profile's updated_at claim and a new hash changes
// nothing an application can see.
func (p *Passwords) rehash(ctx context.Context, id, oldHash, pw string) {
	hash, err := password.Hash(pw, p.params)
	if err != nil {
		p.log.WarnContext(ctx, "rehash password", "user_id", id, "err", err)
		return
	}
	err = storage.InTx(ctx, p.store, func(ctx context.Context) error {
		u, err := p.store.GetUser(ctx, id)
		if err != nil {
			return err
		}
		if u.PasswordHash != oldHash || u.Disabled {
			return nil
		}
		u.PasswordHash = hash
		return p.store.UpdateUser(ctx, u)
	})
	if err != nil {
		p.log.WarnContext(ctx, "store rehashed password", "user_id", id, "err", err)
	}
}

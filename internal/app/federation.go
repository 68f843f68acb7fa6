package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/sesameauth/sesame/storage"
)

// FederatedIdentity is who an upstream provider says signed in (package
// internal/upstream produces it; app does not import it, so the shape is
// repeated here as plain values).
type FederatedIdentity struct {
	UpstreamID    string
	Subject       string
	Username      string
	Email         string
	EmailVerified bool
	Name          string
	Groups        []string
}

// FederationPolicy is an upstream's account rules (config upstreams:).
type FederationPolicy struct {
	// AllowedEmailDomains, when not empty, admits only people whose
	// verified email is in one of these domains (lower case).
	AllowedEmailDomains []string
	// LinkExistingByVerifiedEmail links a first sign-in to the existing
	// account with the same email, when both sides have it verified.
	LinkExistingByVerifiedEmail bool
}

// Errors of FederatedSignIn and of linking.
var (
	// ErrEmailDomainNotAllowed: the upstream's (verified) email is not in
	// allowed_email_domains, or it has none that is verified.
	ErrEmailDomainNotAllowed = errors.New("email domain not allowed for this sign-in")
	// ErrAccountDisabled: the linked account is disabled.
	ErrAccountDisabled = errors.New("account disabled")
	// ErrIdentityLinked: the upstream account is already linked to
	// another user.
	ErrIdentityLinked = errors.New("this account of the provider is already linked to another user")
	// ErrLastSignInMethod: unlinking would leave the user without any
	// way to sign in.
	ErrLastSignInMethod = errors.New("the only remaining sign-in method cannot be removed")
)

// FederatedSignIn is the account side of a sign-in through an upstream:
//
//   - an identity already linked to (upstream, subject) signs its user in;
//     what the upstream says now (email, name, groups) is stored with the
//     identity, and the user's email and name follow it where they were
//     the upstream's (the email still equal to what it said last time, a
//     name still empty), so an address changed at the provider changes
//     here too;
//   - otherwise, with LinkExistingByVerifiedEmail and an email the
//     upstream says is verified, the one existing user with that email —
//     verified here too — is linked (a local account whose email was
//     never verified may have been created by someone else to catch the
//     owner's first federated sign-in: it is never linked automatically);
//   - otherwise a user is created just in time, without a password.
//
// allowed_email_domains is checked first, on every sign-in. Everything
// runs in one transaction: a failed write leaves no user without an
// identity.
func (s *Service) FederatedSignIn(ctx context.Context, in FederatedIdentity, p FederationPolicy) (storage.User, error) {
	if in.UpstreamID == "" || in.Subject == "" {
		return storage.User{}, invalid("subject", "", "must not be empty")
	}
	email, err := checkEmail(in.Email)
	if err != nil {
		email = "" // an upstream's malformed address is dropped, not fatal
	}
	verified := in.EmailVerified && email != ""
	if len(p.AllowedEmailDomains) > 0 {
		_, domain, _ := strings.Cut(strings.ToLower(email), "@")
		if !verified || !slices.Contains(p.AllowedEmailDomains, domain) {
			return storage.User{}, ErrEmailDomainNotAllowed
		}
	}
	name, err := checkText("name", in.Name, 200)
	if err != nil {
		name = ""
	}
	actor := "upstream:" + in.UpstreamID
	var u storage.User
	err = s.inTx(ctx, func(ctx context.Context) error {
		now := s.clock()
		link := storage.Identity{
			UpstreamID: in.UpstreamID, Subject: in.Subject, Username: in.Username, Email: email,
			Groups: in.Groups, CreatedAt: now, LastLoginAt: now,
		}
		prev, err := s.store.GetIdentity(ctx, in.UpstreamID, in.Subject)
		switch {
		case err == nil:
			if u, err = s.store.GetUser(ctx, prev.UserID); err != nil {
				return fmt.Errorf("load linked user: %w", err)
			}
			if u.Disabled {
				return ErrAccountDisabled
			}
			if err := s.store.UpdateIdentity(ctx, link); err != nil {
				return fmt.Errorf("update identity: %w", err)
			}
			changed := false
			if email != "" && u.Email == prev.Email && (u.Email != email || u.EmailVerified != verified) {
				u.Email, u.EmailVerified, changed = email, verified, true
			}
			if name != "" && u.Name == "" {
				u.Name, changed = name, true
			}
			if changed {
				u.UpdatedAt = now
				if err := s.store.UpdateUser(ctx, u); err != nil {
					return fmt.Errorf("update user from upstream: %w", err)
				}
				if err := s.audit(ctx, actor, "user.updated", "", u.ID, map[string]string{"source": in.UpstreamID}); err != nil {
					return err
				}
			}
		case errors.Is(err, storage.ErrNotFound):
			var found bool
			if p.LinkExistingByVerifiedEmail && verified {
				if u, found, err = s.userByVerifiedEmail(ctx, email); err != nil {
					return err
				}
			}
			if found && u.Disabled {
				return ErrAccountDisabled
			}
			if !found {
				if u, err = s.createFederatedUser(ctx, in, email, verified, name, now); err != nil {
					return err
				}
			}
			link.UserID = u.ID
			if err := s.store.CreateIdentity(ctx, link); err != nil {
				return fmt.Errorf("link identity: %w", err)
			}
			if err := s.audit(ctx, actor, "identity.linked", "", u.ID, map[string]string{"upstream": in.UpstreamID, "by": map[bool]string{true: "verified_email", false: "new_user"}[found]}); err != nil {
				return err
			}
		default:
			return fmt.Errorf("load identity: %w", err)
		}
		if err := s.store.RecordLogin(ctx, u.ID, now); err != nil {
			return fmt.Errorf("record login: %w", err)
		}
		u.LastLoginAt = &now
		return nil
	})
	if err != nil {
		return storage.User{}, err
	}
	return u, nil
}

// userByVerifiedEmail finds the one user whose verified email is email;
// none, or more than one, is not found (never guess between two).
func (s *Service) userByVerifiedEmail(ctx context.Context, email string) (storage.User, bool, error) {
	us, err := s.store.FindUsersByEmail(ctx, email)
	if err != nil {
		return storage.User{}, false, fmt.Errorf("find users by email: %w", err)
	}
	if len(us) != 1 || !us[0].EmailVerified {
		return storage.User{}, false, nil
	}
	return us[0], true, nil
}

// createFederatedUser creates the just-in-time user. Its username is the
// upstream's, made to fit checkUsername; when that is taken (by a local
// account, or an account of another upstream) a suffix is added — a
// username is never a reason to link accounts.
func (s *Service) createFederatedUser(ctx context.Context, in FederatedIdentity, email string, verified bool, name string, now time.Time) (storage.User, error) {
	base := usernameFrom(in.Username)
	if base == "" {
		base = usernameFrom(strings.SplitN(email, "@", 2)[0])
	}
	if base == "" {
		base = in.UpstreamID + "-user"
	}
	id, err := newUserID()
	if err != nil {
		return storage.User{}, err
	}
	u := storage.User{ID: id, Email: email, EmailVerified: verified, Name: name, CreatedAt: now, UpdatedAt: now}
	for attempt := 0; attempt < 5; attempt++ {
		u.Username = base
		if attempt > 0 {
			var b [3]byte
			if _, err := rand.Read(b[:]); err != nil {
				return storage.User{}, fmt.Errorf("username suffix: %w", err)
			}
			u.Username = truncateRunes(base, 57) + "-" + hex.EncodeToString(b[:])
		}
		if _, err := s.store.GetUserByUsername(ctx, u.Username); err == nil {
			continue
		} else if !errors.Is(err, storage.ErrNotFound) {
			return storage.User{}, fmt.Errorf("check username: %w", err)
		}
		if err := s.store.CreateUser(ctx, u); err != nil {
			return storage.User{}, fmt.Errorf("create user: %w", err)
		}
		if err := s.audit(ctx, "upstream:"+in.UpstreamID, "user.created", "", u.ID, map[string]string{"username": u.Username, "upstream": in.UpstreamID}); err != nil {
			return storage.User{}, err
		}
		return u, nil
	}
	return storage.User{}, conflictf("no free username for %q", base)
}

// usernameFrom keeps the characters checkUsername allows, at most 64.
func usernameFrom(raw string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(raw) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-@", r) {
			b.WriteRune(r)
		}
	}
	return truncateRunes(b.String(), 64)
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

// ListIdentities lists the upstream accounts linked to userID.
func (s *Service) ListIdentities(ctx context.Context, userID string) ([]storage.Identity, error) {
	ids, err := s.store.ListUserIdentities(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list identities: %w", err)
	}
	return ids, nil
}

// LinkIdentity links an upstream account to a signed-in user (from
// /account). An account already linked to this user is fine; to another
// user, ErrIdentityLinked.
func (s *Service) LinkIdentity(ctx context.Context, userID string, in FederatedIdentity) error {
	return s.inTx(ctx, func(ctx context.Context) error {
		now := s.clock()
		prev, err := s.store.GetIdentity(ctx, in.UpstreamID, in.Subject)
		if err == nil {
			if prev.UserID != userID {
				return ErrIdentityLinked
			}
			return nil
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("load identity: %w", err)
		}
		email, _ := checkEmail(in.Email)
		err = s.store.CreateIdentity(ctx, storage.Identity{
			UpstreamID: in.UpstreamID, Subject: in.Subject, UserID: userID, Username: in.Username,
			Email: email, Groups: in.Groups, CreatedAt: now, LastLoginAt: now,
		})
		if errors.Is(err, storage.ErrConflict) {
			return ErrIdentityLinked
		}
		if err != nil {
			return fmt.Errorf("link identity: %w", err)
		}
		return s.audit(ctx, "user:"+userID, "identity.linked", "", userID, map[string]string{"upstream": in.UpstreamID, "by": "account"})
	})
}

// UnlinkIdentity removes a link of userID's, unless it is the user's last
// way to sign in (no password and no other identity).
func (s *Service) UnlinkIdentity(ctx context.Context, userID, upstreamID, subject string) error {
	return s.inTx(ctx, func(ctx context.Context) error {
		id, err := s.store.GetIdentity(ctx, upstreamID, subject)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && id.UserID != userID) {
			return mapNotFound(storage.ErrNotFound, "identity", upstreamID)
		}
		if err != nil {
			return fmt.Errorf("load identity: %w", err)
		}
		u, err := s.store.GetUser(ctx, userID)
		if err != nil {
			return fmt.Errorf("load user: %w", err)
		}
		all, err := s.store.ListUserIdentities(ctx, userID)
		if err != nil {
			return fmt.Errorf("list identities: %w", err)
		}
		if u.PasswordHash == "" && len(all) <= 1 {
			return ErrLastSignInMethod
		}
		if err := s.store.DeleteIdentity(ctx, upstreamID, subject); err != nil {
			return fmt.Errorf("unlink identity: %w", err)
		}
		return s.audit(ctx, "user:"+userID, "identity.unlinked", "", userID, map[string]string{"upstream": upstreamID})
	})
}

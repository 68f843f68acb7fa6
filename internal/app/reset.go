package app

import (
	"context"
	"errors"
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/sesameauth/sesame/internal/mail"
	"github.com/sesameauth/sesame/internal/password"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// Paths of the self-service password reset (SPEC "Accounts"): the form
// that asks for a link, and the page the link opens.
const (
	PathForgotPassword = "/password/forgot"
	PathResetPassword  = "/password/reset"
)

// DefaultResetLifetime is how long a reset link works when the caller
// gives no lifetime (SESAME_EMAIL_LINK_LIFETIME reset=).
const DefaultResetLifetime = time.Hour

// maxIdentifier bounds the "username or email" of the forgot form: a
// username is at most MaxUsernameBytes, an email at most 254 bytes.
const maxIdentifier = MaxUsernameBytes

// ForgotRequest is a "forgot password" form: Identifier is a username or
// an email address, IP the client address (for the rate limit), ResetURL
// the absolute URL of the reset page (the issuer's PathResetPassword; the
// token is added as ?token=).
type ForgotRequest struct {
	Identifier string
	IP         string
	ResetURL   string
	Lifetime   time.Duration
}

// ForgotPassword asks for a reset link. Its answer is the same whether or
// not an account matches — nil — so the caller always shows "if an
// account matches, a link is on its way". Only input that can match no
// account anyway is refused (*ValidationError: empty, over-long, control
// characters such as CR/LF), and a client address over its limit
// (*RateLimitedError, limits.go).
//
// To keep the two cases alike in time as well, both do the same lookups
// (by username, and by email when the identifier has an '@'), count the
// same rate-limit keys and write one audit event in one transaction; an
// existing account only adds the link token and the mail rows to that
// transaction (BenchmarkForgotPassword compares the two).
//
// For an enabled account with a deliverable email (at most the
// PerRecipient limit per hour), the user's older unused reset links are
// deleted and a new one (256 bits, stored hashed, single use, expiring
// after Lifetime, bound to the purpose password_reset, the user and the
// address it is sent to) is mailed in the same transaction.
func (s *Service) ForgotPassword(ctx context.Context, in ForgotRequest) error {
	id, err := checkText("identifier", in.Identifier, maxIdentifier)
	if err != nil {
		return err
	}
	if id == "" || len(id) > maxIdentifier {
		return invalid("identifier", "", "must be a username or an email address")
	}
	lifetime := in.Lifetime
	if lifetime <= 0 {
		lifetime = s.Accounts().ResetLifetime
	}
	targets, err := s.resetTargets(ctx, id)
	if err != nil {
		return err
	}
	recipient := id
	if len(targets) > 0 {
		recipient = targets[0].Email
	}
	send, err := s.limit(ctx, "forgot", in.IP, recipient)
	if err != nil {
		return err
	}
	if !send {
		targets = nil
	}
	return s.inTx(ctx, func(ctx context.Context) error {
		now := s.clock()
		for _, u := range targets {
			if err := s.mailResetLink(ctx, u, in.ResetURL, lifetime, now); err != nil {
				return err
			}
		}
		details := map[string]string{"links_sent": fmt.Sprint(len(targets))}
		if !send {
			details["limited"] = "recipient"
		}
		// One event either way; the identifier itself is not kept (people
		// type passwords into such fields).
		return s.audit(ctx, "system", "user.password_reset_requested", "", "", details)
	})
}

// resetTargets are the accounts a reset link goes to: the user with that
// username, else the users with that email; only enabled ones with a
// deliverable address. Both lookups always run.
func (s *Service) resetTargets(ctx context.Context, id string) ([]storage.User, error) {
	var found []storage.User
	u, err := s.store.GetUserByUsername(ctx, id)
	switch {
	case err == nil:
		found = append(found, u)
	case !errors.Is(err, storage.ErrNotFound):
		return nil, fmt.Errorf("find user: %w", err)
	}
	if strings.Contains(id, "@") {
		byEmail, err := s.store.FindUsersByEmail(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("find users by email: %w", err)
		}
		if len(found) == 0 {
			found = byEmail
		}
	}
	out := found[:0]
	for _, u := range found {
		if !u.Disabled && u.Email != "" && mail.CheckAddress(u.Email) == nil {
			out = append(out, u)
		}
	}
	return out, nil
}

// mailResetLink replaces u's unused reset links by a new one and enqueues
// the mail, inside the caller's transaction.
func (s *Service) mailResetLink(ctx context.Context, u storage.User, resetURL string, lifetime time.Duration, now time.Time) error {
	if _, err := s.store.DeleteUserLinkTokens(ctx, u.ID, storage.LinkPasswordReset); err != nil {
		return fmt.Errorf("supersede reset links: %w", err)
	}
	token, err := secret.RandomToken(linkTokenBytes)
	if err != nil {
		return err
	}
	if err := s.store.CreateLinkToken(ctx, storage.LinkToken{
		Hash: secret.HashToken(token), Purpose: storage.LinkPasswordReset, UserID: u.ID, Email: u.Email,
		CreatedAt: now, ExpiresAt: now.Add(lifetime),
	}); err != nil {
		return fmt.Errorf("create link token: %w", err)
	}
	link, err := withParam(resetURL, "token", token)
	if err != nil {
		return err
	}
	return s.enqueue(ctx, mail.Message{
		To:      u.Email,
		Subject: "Reset your password",
		Text: fmt.Sprintf("Hello %s,\n\nsomeone asked to reset the password of your account.\n"+
			"Open this link to choose a new one (it works once, for %s):\n\n%s\n\n"+
			"Choosing a new password signs you out everywhere.\nIf it was not you, ignore this message: your password stays as it is.\n",
			u.Username, lifetime, link),
		HTML: fmt.Sprintf("<p>Hello %s,</p><p>someone asked to reset the password of your account.</p>"+
			"<p><a href=\"%s\">Choose a new password</a> (the link works once, for %s).</p>"+
			"<p>Choosing a new password signs you out everywhere. If it was not you, ignore this message: your password stays as it is.</p>",
			html.EscapeString(u.Username), html.EscapeString(link), lifetime),
		Links: []string{link},
	}, now)
}

// CheckResetLink tells whether a reset link can still be used (the page
// shows the form only then), without using it. ErrLinkInvalid otherwise.
func (s *Service) CheckResetLink(ctx context.Context, token string) error {
	_, _, err := s.resetLink(ctx, token)
	return err
}

// resetLink finds the unused, unexpired reset token and its user, and
// checks that the link still fits: the user exists, is enabled and still
// has the address the link was sent to.
func (s *Service) resetLink(ctx context.Context, token string) (storage.LinkToken, storage.User, error) {
	if token == "" || len(token) > 200 {
		return storage.LinkToken{}, storage.User{}, ErrLinkInvalid
	}
	t, err := s.store.GetLinkToken(ctx, secret.HashToken(token), storage.LinkPasswordReset, s.clock())
	if errors.Is(err, storage.ErrNotFound) {
		return t, storage.User{}, ErrLinkInvalid
	}
	if err != nil {
		return t, storage.User{}, fmt.Errorf("get link token: %w", err)
	}
	u, err := s.store.GetUser(ctx, t.UserID)
	if errors.Is(err, storage.ErrNotFound) {
		return t, u, ErrLinkInvalid
	}
	if err != nil {
		return t, u, fmt.Errorf("get user: %w", err)
	}
	// Bound to the address: a link sent before the email changed must
	// not reset the account that now belongs to another mailbox.
	if u.Disabled || !strings.EqualFold(u.Email, t.Email) {
		return t, u, ErrLinkInvalid
	}
	return t, u, nil
}

// ResetPassword spends a reset link: the new password (the one policy;
// a *ValidationError leaves the link usable for another try) replaces
// the old one through storePassword, which revokes every session and
// grant of the user with their tokens and codes; the user's other reset
// links end. ErrLinkInvalid for a link that is unknown, used, expired,
// of another purpose, or no longer matching its user's address. Exactly
// one of two concurrent uses of one link wins.
func (s *Service) ResetPassword(ctx context.Context, token, newPassword string) (storage.User, error) {
	_, u, err := s.resetLink(ctx, token)
	if err != nil {
		return storage.User{}, err
	}
	if len(newPassword) > password.MaxLength {
		return storage.User{}, invalid("password", "", fmt.Sprintf("must be at most %d bytes", password.MaxLength))
	}
	hash, err := s.hashPassword(u.Username, newPassword)
	if err != nil {
		return storage.User{}, err
	}
	var out storage.User
	err = s.inTx(ctx, func(ctx context.Context) error {
		t, err := s.store.UseLinkToken(ctx, secret.HashToken(token), storage.LinkPasswordReset, s.clock())
		if errors.Is(err, storage.ErrNotFound) {
			return ErrLinkInvalid
		}
		if err != nil {
			return fmt.Errorf("use link token: %w", err)
		}
		// Re-checked inside the transaction: the address may have
		// changed since resetLink read it.
		cur, err := s.store.GetUser(ctx, t.UserID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("get user: %w", err)
		}
		if err != nil || cur.Disabled || !strings.EqualFold(cur.Email, t.Email) {
			return ErrLinkInvalid
		}
		if out, err = s.storePassword(ctx, "user:"+cur.ID, cur.ID, hash, "user.password_reset"); err != nil {
			return err
		}
		if _, err := s.store.DeleteUserLinkTokens(ctx, cur.ID, storage.LinkPasswordReset); err != nil {
			return fmt.Errorf("end other reset links: %w", err)
		}
		return nil
	})
	if err != nil {
		return storage.User{}, err
	}
	return out, nil
}

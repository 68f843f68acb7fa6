package app

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/url"
	"time"

	"github.com/sesameauth/sesame/internal/mail"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// linkTokenBytes is the entropy of a link token (256 bits; SPEC: ≥ 128).
const linkTokenBytes = 32

// DefaultEmailChangeLifetime is how long an email-change link works when
// the caller gives no lifetime (SESAME_EMAIL_LINK_LIFETIME verify=).
const DefaultEmailChangeLifetime = 24 * time.Hour

// ProfileEdit is a user's own change of name and email on /account.
// ConfirmURL is the absolute URL of the confirmation page (the issuer's
// /account/email/confirm); the token is added as ?token=.
type ProfileEdit struct {
	UserID     string
	Name       string
	Email      string
	ConfirmURL string
	Lifetime   time.Duration
}

// ProfileResult says what UpdateProfile did.
type ProfileResult struct {
	NameChanged bool
	// EmailPending is the new address a confirmation link was sent to;
	// the user's email stays the old one until the link is used.
	EmailPending string
}

// ErrLinkInvalid: a link token that is unknown, used, expired, of another
// purpose, superseded by a newer one, or no longer matching its user.
var ErrLinkInvalid = errors.New("app: this link is not valid (used, expired or replaced by a newer one)")

// UpdateProfile changes the name at once; a new email is only recorded as
// pending: a single-use link token (hashed at rest, bound to the purpose
// change_email and the new address) is mailed to the new address and a
// notice to the old one, all in the transaction of the request, and any
// older pending change of the user is superseded. ConfirmEmailChange
// replaces the address.
func (s *Service) UpdateProfile(ctx context.Context, in ProfileEdit) (ProfileResult, error) {
	var res ProfileResult
	name, err := checkText("name", in.Name, 200)
	if err != nil {
		return res, err
	}
	email, err := checkEmail(in.Email)
	if err != nil {
		return res, err
	}
	if email != "" && mail.CheckAddress(email) != nil {
		return res, invalid("email", "", "must be a plain email address like alice@example.com")
	}
	lifetime := in.Lifetime
	if lifetime <= 0 {
		lifetime = DefaultEmailChangeLifetime
	}
	err = s.inTx(ctx, func(ctx context.Context) error {
		u, err := s.store.GetUser(ctx, in.UserID)
		if err != nil {
			return mapNotFound(err, "user", in.UserID)
		}
		actor := "user:" + u.ID
		if name != u.Name {
			u.Name, u.UpdatedAt = name, s.clock()
			if err := s.store.UpdateUser(ctx, u); err != nil {
				return fmt.Errorf("update user: %w", mapNotFound(err, "user", u.ID))
			}
			res.NameChanged = true
			if err := s.audit(ctx, actor, "user.profile_updated", "", u.ID, map[string]string{"field": "name"}); err != nil {
				return err
			}
		}
		if email == "" || email == u.Email {
			return nil
		}
		if _, err := s.store.DeleteUserLinkTokens(ctx, u.ID, storage.LinkChangeEmail); err != nil {
			return fmt.Errorf("supersede email changes: %w", err)
		}
		now := s.clock()
		link, err := s.issueLink(ctx, storage.LinkChangeEmail, u.ID, email, in.ConfirmURL, lifetime)
		if err != nil {
			return err
		}
		if err := s.enqueue(ctx, mail.Message{
			To:      email,
			Subject: "Confirm your new email address",
			Text: fmt.Sprintf("Hello %s,\n\nsomeone signed in as %s asked to use this address for the account.\n"+
				"Open this link to confirm it (it works once, for %s):\n\n%s\n\nIf it was not you, ignore this message.\n",
				u.Username, u.Username, lifetime, link),
			HTML: fmt.Sprintf("<p>Hello %s,</p><p>someone signed in as %s asked to use this address for the account.</p>"+
				"<p><a href=\"%s\">Confirm this address</a> (the link works once, for %s).</p><p>If it was not you, ignore this message.</p>",
				html.EscapeString(u.Username), html.EscapeString(u.Username), html.EscapeString(link), lifetime),
			Links: []string{link},
		}, now); err != nil {
			return err
		}
		if u.Email != "" && mail.CheckAddress(u.Email) == nil {
			if err := s.enqueue(ctx, mail.Message{
				To:      u.Email,
				Subject: "Your email address is being changed",
				Text: fmt.Sprintf("Hello %s,\n\na change of the account's email address to %s was requested. "+
					"It takes effect when the link sent there is opened.\nIf it was not you, change your password and sign out your other sessions.\n",
					u.Username, email),
				HTML: fmt.Sprintf("<p>Hello %s,</p><p>a change of the account's email address to %s was requested. "+
					"It takes effect when the link sent there is opened.</p><p>If it was not you, change your password and sign out your other sessions.</p>",
					html.EscapeString(u.Username), html.EscapeString(email)),
			}, now); err != nil {
				return err
			}
		}
		res.EmailPending = email
		return s.audit(ctx, actor, "user.email_change_requested", "", u.ID, map[string]string{"new_email": email})
	})
	if err != nil {
		return ProfileResult{}, err
	}
	return res, nil
}

// ConfirmEmailChange spends an email-change link: the pending address
// replaces the user's email, email_verified becomes true, and the user's
// other unused change and password-reset links end (they were sent for the
// old state). ErrLinkInvalid for any link that is not usable.
func (s *Service) ConfirmEmailChange(ctx context.Context, token string) (storage.User, error) {
	var out storage.User
	err := s.inTx(ctx, func(ctx context.Context) error {
		now := s.clock()
		t, err := s.spendLink(ctx, storage.LinkChangeEmail, token)
		if err != nil {
			return err
		}
		u, err := s.store.GetUser(ctx, t.UserID)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && u.Disabled) {
			return ErrLinkInvalid
		}
		if err != nil {
			return fmt.Errorf("get user: %w", err)
		}
		old := u.Email
		u.Email, u.EmailVerified, u.UpdatedAt = t.Email, true, now
		if err := s.store.UpdateUser(ctx, u); err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		for _, p := range []string{storage.LinkChangeEmail, storage.LinkPasswordReset, storage.LinkVerifyEmail} {
			if _, err := s.store.DeleteUserLinkTokens(ctx, u.ID, p); err != nil {
				return fmt.Errorf("end older links: %w", err)
			}
		}
		out = u
		return s.audit(ctx, "user:"+u.ID, "user.email_changed", "", u.ID, map[string]string{"old_email": old, "new_email": u.Email})
	})
	return out, err
}

// enqueue composes m and puts it in the queue inside the caller's
// transaction, with an audit event naming the recipient (mail.queued).
func (s *Service) enqueue(ctx context.Context, m mail.Message, now time.Time) error {
	rec, err := mail.Compose(m, now)
	if err != nil {
		return fmt.Errorf("compose mail: %w", err)
	}
	if err := s.store.EnqueueMail(ctx, rec); err != nil {
		return fmt.Errorf("enqueue mail: %w", err)
	}
	s.mailEnqueued(ctx)
	return s.audit(ctx, "system", "mail.queued", "", "", map[string]string{"mail_id": rec.ID, "recipient": rec.Recipient})
}

// issueLink is the one way a mailed link is made: a fresh 256-bit token,
// stored only as its hash, bound to purpose, userID ("" for an
// invitation) and the address email it is sent to, expiring after
// lifetime; it returns base with ?token=. It runs in the caller's
// transaction, beside the enqueue of the mail that carries it.
func (s *Service) issueLink(ctx context.Context, purpose, userID, email, base string, lifetime time.Duration) (string, error) {
	token, err := secret.RandomToken(linkTokenBytes)
	if err != nil {
		return "", err
	}
	link, err := withParam(base, linkParam(purpose), token)
	if err != nil {
		return "", err
	}
	now := s.clock()
	if err := s.store.CreateLinkToken(ctx, storage.LinkToken{
		Hash: secret.HashToken(token), Purpose: purpose, UserID: userID, Email: email,
		CreatedAt: now, ExpiresAt: now.Add(lifetime),
	}); err != nil {
		return "", fmt.Errorf("create link token: %w", err)
	}
	return link, nil
}

// spendLink marks the link token of purpose used (inside the caller's
// transaction) and returns it; ErrLinkInvalid for an empty, over-long,
// unknown, used, expired or foreign-purpose token.
func (s *Service) spendLink(ctx context.Context, purpose, token string) (storage.LinkToken, error) {
	if token == "" || len(token) > 200 {
		return storage.LinkToken{}, ErrLinkInvalid
	}
	t, err := s.store.UseLinkToken(ctx, secret.HashToken(token), purpose, s.clock())
	if errors.Is(err, storage.ErrNotFound) {
		return storage.LinkToken{}, ErrLinkInvalid
	}
	if err != nil {
		return storage.LinkToken{}, fmt.Errorf("use link token: %w", err)
	}
	return t, nil
}

// linkParam is the query parameter a link carries its token in: the
// invitation is /signup?invite=…, every other link ?token=….
func linkParam(purpose string) string {
	if purpose == storage.LinkInvitation {
		return InviteParam
	}
	return "token"
}

func withParam(base, param, token string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || !u.IsAbs() {
		return "", fmt.Errorf("app: confirmation URL %q is not absolute", base)
	}
	q := u.Query()
	q.Set(param, token)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// RevokeOwnSession ends one of the user's own login sessions (the
// "sign out this session" of /account). ErrNotFound-wrapping error if the
// session is not the user's or not live.
func (s *Service) RevokeOwnSession(ctx context.Context, userID, sessionID string) error {
	return s.inTx(ctx, func(ctx context.Context) error {
		ls, err := s.store.GetSession(ctx, sessionID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("get session: %w", err)
		}
		if err != nil || ls.UserID != userID || ls.RevokedAt != nil {
			return notFound("session", "")
		}
		if err := s.store.RevokeSession(ctx, sessionID, s.clock()); err != nil {
			return fmt.Errorf("revoke session: %w", err)
		}
		return s.audit(ctx, "user:"+userID, "user.session_revoked", "", userID, nil)
	})
}

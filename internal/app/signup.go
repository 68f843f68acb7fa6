package app

import (
	"context"
	"errors"
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/sesameauth/sesame/internal/mail"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// Sign-up modes (SESAME_SIGNUP; the same words as internal/config's).
const (
	SignupOff    = "off"
	SignupOpen   = "open"
	SignupInvite = "invite"
)

// The pages the account mails link to. They are built here, not in web,
// because the CLI (which cannot import web) prints invitation links too.
const (
	PathSignup             = "/signup"
	PathVerifyEmail        = "/verify-email"
	PathResendVerification = "/verify-email/resend"
	// InviteParam carries an invitation token: /signup?invite=….
	InviteParam = "invite"
)

// Defaults of the link lifetimes when AccountSettings leaves them zero
// (SPEC: 24h for verification and invitations).
const (
	DefaultVerifyLifetime = 24 * time.Hour
	DefaultInviteLifetime = 24 * time.Hour
)

// AccountSettings are the self-service account settings of the use cases
// of this file (SESAME_SIGNUP, SESAME_EMAIL_LINK_LIFETIME, the issuer the
// links are absolute to, and whether mail can be delivered at all).
type AccountSettings struct {
	// Issuer is the absolute base URL of the links (no trailing slash).
	Issuer string
	// Signup is SignupOff (also for ""), SignupOpen or SignupInvite.
	Signup string
	// VerifyLifetime and InviteLifetime: how long the links work (zero:
	// the defaults above).
	VerifyLifetime, InviteLifetime time.Duration
	// ResetLifetime: how long a password reset link works (zero:
	// DefaultResetLifetime).
	ResetLifetime time.Duration
	// MailOff: no way to deliver mail (no SMTP server on a public
	// issuer). Sign-up and resending verification then refuse with
	// ErrMailOff; an invitation is created (its link is printed) but not
	// queued.
	MailOff bool
}

// WithAccounts sets the account settings. Call it before use.
func (s *Service) WithAccounts(a AccountSettings) *Service {
	s.accounts = a.withDefaults()
	return s
}

// withDefaults fills in what a is silent on: sign-up off and the default
// link lifetimes. New applies it too, so a Service never holds a zero
// lifetime (a link that would expire as it is made).
func (a AccountSettings) withDefaults() AccountSettings {
	a.Issuer = strings.TrimRight(a.Issuer, "/")
	if a.Signup == "" {
		a.Signup = SignupOff
	}
	if a.VerifyLifetime <= 0 {
		a.VerifyLifetime = DefaultVerifyLifetime
	}
	if a.InviteLifetime <= 0 {
		a.InviteLifetime = DefaultInviteLifetime
	}
	if a.ResetLifetime <= 0 {
		a.ResetLifetime = DefaultResetLifetime
	}
	return a
}

// Accounts returns the account settings (Signup is never "", no lifetime
// is zero).
func (s *Service) Accounts() AccountSettings { return s.accounts }

// Errors of the account use cases.
var (
	// ErrSignupClosed: SESAME_SIGNUP is off, or invite and the request
	// carries no valid invitation.
	ErrSignupClosed = errors.New("app: sign-up is not open (SESAME_SIGNUP)")
	// ErrMailOff: the action needs mail and no mail server is configured.
	ErrMailOff = errors.New("app: no mail server is configured (SESAME_SMTP_URL)")
	// ErrUsernameTaken: the chosen username belongs to an account. A
	// sign-up form has to say so (usernames are unique and chosen by the
	// person), so this is the one thing sign-up tells a stranger.
	ErrUsernameTaken = errors.New("app: this username is taken")
)

// SignUp is the input of SignUp (the /signup form).
type SignUp struct {
	Username, Email, Password, Name string
	// Invitation is the token of /signup?invite=… ("" without one).
	Invitation string
	// IP is the client address (the per-address limit).
	IP string
}

// SignUpResult says what happened. The page shows the same "check your
// mail" answer whether an account was created or the address already had
// one (a notice went there instead), so Created must not reach a stranger.
type SignUpResult struct {
	// Created: a new account (User); false when Email already belonged to
	// an account and only a notice was mailed.
	Created bool
	User    storage.User
	// Verified: the account's email is verified already (an invitation
	// proved the address), nothing was mailed and the person may sign in.
	Verified bool
	// Email is where the mail went (or, Verified, the account's address).
	Email string
}

// signupFields validates the form in the order the page shows its
// errors. Email is required (verification needs it) and must be one bare
// address (mail.CheckAddress: no CR/LF, no display name, no list); the
// name is one line of text (checkText refuses control characters, so no
// header can be smuggled through it into a mail).
func (s *Service) signupFields(in SignUp) (username, email, name, hash string, err error) {
	if username, err = checkUsername(in.Username); err != nil {
		return
	}
	if email, err = checkEmail(in.Email); err != nil {
		return
	}
	if email == "" {
		err = invalid("email", "", "must not be empty")
		return
	}
	if mail.CheckAddress(email) != nil {
		err = invalid("email", "", "must be a plain email address like alice@example.com")
		return
	}
	if name, err = checkText("name", in.Name, 200); err != nil {
		return
	}
	hash, err = s.hashPassword(username, in.Password)
	return
}

// SignUp creates an account for a stranger (SPEC "Accounts": POST
// /signup).
//
//   - SESAME_SIGNUP off: ErrSignupClosed. invite: only with a valid
//     invitation (Invitation), whose address becomes the account's email,
//     verified; the invitation is spent in the same transaction.
//   - open, without an invitation: the user is created with
//     email_verified=false and the verification mail (a single-use link
//     bound to verify_email and the address) is enqueued in the same
//     transaction; ErrMailOff when mail cannot be delivered.
//   - A username taken (case-insensitively) is ErrUsernameTaken. An email
//     that already has an account creates nothing: the address gets a
//     notice ("you already have an account") instead, and the answer is
//     the one of a new account (docs/security.md, sign-up).
//   - Every failure leaves nothing behind (one transaction).
func (s *Service) SignUp(ctx context.Context, in SignUp) (SignUpResult, error) {
	var res SignUpResult
	a := s.Accounts()
	if a.Signup == SignupOff || (a.Signup == SignupInvite && in.Invitation == "") {
		return res, ErrSignupClosed
	}
	invited := in.Invitation != ""
	if invited {
		// The address is the invitation's, not the form's: look it up
		// first so the form's email field may be left as shown.
		inv, err := s.CheckInvitation(ctx, in.Invitation)
		if err != nil {
			return res, err
		}
		in.Email = inv
	}
	username, email, name, hash, err := s.signupFields(in)
	if err != nil {
		return res, err
	}
	if !invited && a.MailOff {
		return res, ErrMailOff
	}
	// The limits of limits.go: a stranger must not flood a mailbox with
	// verification mails or notices, nor probe usernames at speed. Over
	// the recipient limit the account is still made but no mail goes
	// out (the person can ask for a new link later); the answer is the
	// same, so the limit tells nothing about the address.
	send, err := s.limit(ctx, "signup", in.IP, email)
	if err != nil {
		return res, err
	}
	id, err := newUserID()
	if err != nil {
		return res, err
	}
	err = s.inTx(ctx, func(ctx context.Context) error {
		now := s.clock()
		if invited {
			t, err := s.spendLink(ctx, storage.LinkInvitation, in.Invitation)
			if err != nil {
				return err
			}
			email = t.Email
		}
		if _, err := s.store.GetUserByUsername(ctx, username); err == nil {
			return ErrUsernameTaken
		} else if !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("get user: %w", err)
		}
		holders, err := s.store.FindUsersByEmail(ctx, email)
		if err != nil {
			return fmt.Errorf("find users by email: %w", err)
		}
		switch {
		case len(holders) > 0 && invited:
			// The invited address got an account since: the
			// invitation no longer applies.
			return ErrLinkInvalid
		case len(holders) > 0:
			res.Email = email
			if !send {
				return nil
			}
			return s.mailAccountExists(ctx, holders[0], now)
		}
		u := storage.User{ID: id, Username: username, Email: email, EmailVerified: invited, Name: name,
			PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
		if err := s.store.CreateUser(ctx, u); errors.Is(err, storage.ErrConflict) {
			return ErrUsernameTaken // a concurrent sign-up took it
		} else if err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		res = SignUpResult{Created: true, User: u, Verified: invited, Email: email}
		how := "open"
		if invited {
			how = "invitation"
		}
		if err := s.audit(ctx, "user:"+u.ID, "user.signed_up", "", u.ID, map[string]string{"username": username, "email": email, "via": how}); err != nil {
			return err
		}
		if invited {
			return s.audit(ctx, "user:"+u.ID, "user.invitation_accepted", "", u.ID, map[string]string{"email": email})
		}
		if !send {
			return nil
		}
		return s.mailVerification(ctx, u, now)
	})
	if err != nil {
		return SignUpResult{}, err
	}
	return res, nil
}

// mailVerification supersedes u's older verification links and enqueues
// a new one (in the caller's transaction).
func (s *Service) mailVerification(ctx context.Context, u storage.User, now time.Time) error {
	a := s.Accounts()
	if _, err := s.store.DeleteUserLinkTokens(ctx, u.ID, storage.LinkVerifyEmail); err != nil {
		return fmt.Errorf("supersede verification links: %w", err)
	}
	link, err := s.issueLink(ctx, storage.LinkVerifyEmail, u.ID, u.Email, a.Issuer+PathVerifyEmail, a.VerifyLifetime)
	if err != nil {
		return err
	}
	return s.enqueue(ctx, mail.Message{
		To:      u.Email,
		Subject: "Confirm your email address",
		Text: fmt.Sprintf("Hello %s,\n\nopen this link to confirm the email address of your new account\n"+
			"(it works once, for %s):\n\n%s\n\nIf you did not create an account, ignore this message.\n",
			u.Username, a.VerifyLifetime, link),
		HTML: fmt.Sprintf("<p>Hello %s,</p><p><a href=\"%s\">Confirm the email address of your new account</a> "+
			"(the link works once, for %s).</p><p>If you did not create an account, ignore this message.</p>",
			html.EscapeString(u.Username), html.EscapeString(link), a.VerifyLifetime),
		Links: []string{link},
	}, now)
}

// mailAccountExists tells the owner of an address that someone tried to
// sign up with it: the stranger at the form learns nothing, the owner
// learns of the attempt and is pointed to sign-in.
func (s *Service) mailAccountExists(ctx context.Context, owner storage.User, now time.Time) error {
	login := s.Accounts().Issuer + "/login"
	if err := s.enqueue(ctx, mail.Message{
		To:      owner.Email,
		Subject: "You already have an account",
		Text: fmt.Sprintf("Hello,\n\nsomeone tried to create an account with this email address, which already belongs to the account %s.\n"+
			"No new account was created. Sign in here:\n\n%s\n\nIf it was not you, ignore this message.\n", owner.Username, login),
		HTML: fmt.Sprintf("<p>Hello,</p><p>someone tried to create an account with this email address, which already belongs to the account %s. "+
			"No new account was created.</p><p><a href=\"%s\">Sign in</a></p><p>If it was not you, ignore this message.</p>",
			html.EscapeString(owner.Username), html.EscapeString(login)),
		Links: []string{login},
	}, now); err != nil {
		return err
	}
	return s.audit(ctx, "anonymous", "user.signup_email_taken", "", owner.ID, nil)
}

// VerifyEmail spends a verification link (GET /verify-email?token=…): the
// user's email_verified becomes true. The link is single use, bound to
// verify_email and to the address it was sent to: if the user's email
// changed since, it is ErrLinkInvalid like an unknown, used, expired or
// foreign-purpose one.
func (s *Service) VerifyEmail(ctx context.Context, token string) (storage.User, error) {
	var out storage.User
	err := s.inTx(ctx, func(ctx context.Context) error {
		t, err := s.spendLink(ctx, storage.LinkVerifyEmail, token)
		if err != nil {
			return err
		}
		u, err := s.store.GetUser(ctx, t.UserID)
		if errors.Is(err, storage.ErrNotFound) {
			return ErrLinkInvalid
		}
		if err != nil {
			return fmt.Errorf("get user: %w", err)
		}
		if u.Disabled || !strings.EqualFold(u.Email, t.Email) {
			return ErrLinkInvalid
		}
		if !u.EmailVerified {
			u.EmailVerified, u.UpdatedAt = true, s.clock()
			if err := s.store.UpdateUser(ctx, u); err != nil {
				return fmt.Errorf("update user: %w", err)
			}
		}
		if _, err := s.store.DeleteUserLinkTokens(ctx, u.ID, storage.LinkVerifyEmail); err != nil {
			return fmt.Errorf("end other verification links: %w", err)
		}
		out = u
		return s.audit(ctx, "user:"+u.ID, "user.email_verified", "", u.ID, map[string]string{"email": u.Email})
	})
	return out, err
}

// ResendVerification mails a new verification link to the account named
// by identifier (username or email) if it has an unverified address; the
// older links end. Unknown, verified and disabled accounts get nothing and
// the same nil answer, so the page cannot be used to find accounts.
// ErrMailOff when mail cannot be delivered (the page says so to anyone).
func (s *Service) ResendVerification(ctx context.Context, identifier, ip string) error {
	if s.Accounts().MailOff {
		return ErrMailOff
	}
	id := strings.TrimSpace(identifier)
	if id == "" || len(id) > mail.MaxAddressLen {
		return invalid("identifier", "", "must be a username or email address")
	}
	// Counted against what was typed (the same either way, so the limit
	// reveals nothing); over the recipient limit nothing is sent.
	send, err := s.limit(ctx, "resend", ip, strings.ToLower(id))
	if err != nil {
		return err
	}
	if !send {
		return nil
	}
	return s.inTx(ctx, func(ctx context.Context) error {
		var users []storage.User
		if u, err := s.store.GetUserByUsername(ctx, id); err == nil {
			users = append(users, u)
		} else if !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("get user: %w", err)
		}
		if strings.Contains(id, "@") {
			byMail, err := s.store.FindUsersByEmail(ctx, id)
			if err != nil {
				return fmt.Errorf("find users by email: %w", err)
			}
			users = append(users, byMail...)
		}
		now := s.clock()
		seen := map[string]bool{}
		for _, u := range users {
			if seen[u.ID] || u.EmailVerified || u.Disabled || mail.CheckAddress(u.Email) != nil {
				continue
			}
			seen[u.ID] = true
			if err := s.mailVerification(ctx, u, now); err != nil {
				return err
			}
			if err := s.audit(ctx, "anonymous", "user.verification_resent", "", u.ID, map[string]string{"email": u.Email}); err != nil {
				return err
			}
		}
		return nil
	})
}

// Invitation is what Invite made: the link (printed by `sesame users
// invite`, returned by POST /admin/users/invite) and whether it was
// queued for mail.
type Invitation struct {
	Email     string    `json:"email"`
	Link      string    `json:"link"`
	ExpiresAt time.Time `json:"expires_at"`
	// Queued: the invitation mail is in the queue; false when no mail
	// server is configured (give the link by hand).
	Queued bool `json:"queued"`
}

// Invite creates an invitation for email: a single-use link to
// /signup?invite=… bound to the purpose invitation and to that address
// (which becomes the new account's email, verified), mailed in the same
// transaction. Refused while sign-up is off (the link would lead nowhere)
// and for an address that already has an account.
func (s *Service) Invite(ctx context.Context, actor, rawEmail string) (Invitation, error) {
	var out Invitation
	a := s.Accounts()
	if a.Signup == SignupOff {
		return out, fmt.Errorf("%w: invitations are accepted at %s only with SESAME_SIGNUP=invite or open", ErrSignupClosed, PathSignup)
	}
	email, err := checkEmail(rawEmail)
	if err == nil && (email == "" || mail.CheckAddress(email) != nil) {
		err = invalid("email", email, "must be a plain email address like alice@example.com")
	}
	if err != nil {
		return out, err
	}
	err = s.inTx(ctx, func(ctx context.Context) error {
		holders, err := s.store.FindUsersByEmail(ctx, email)
		if err != nil {
			return fmt.Errorf("find users by email: %w", err)
		}
		if len(holders) > 0 {
			return conflictf("an account with email %q exists (user %q)", email, holders[0].Username)
		}
		now := s.clock()
		link, err := s.issueLink(ctx, storage.LinkInvitation, "", email, a.Issuer+PathSignup, a.InviteLifetime)
		if err != nil {
			return err
		}
		out = Invitation{Email: email, Link: link, ExpiresAt: now.Add(a.InviteLifetime)}
		if err := s.audit(ctx, actor, "user.invited", "", "", map[string]string{"email": email}); err != nil {
			return err
		}
		if a.MailOff {
			return nil
		}
		out.Queued = true
		return s.enqueue(ctx, mail.Message{
			To:      email,
			Subject: "You are invited to create an account",
			Text: fmt.Sprintf("Hello,\n\nyou are invited to create an account at %s.\nOpen this link to choose a username and password "+
				"(it works once, for %s):\n\n%s\n", a.Issuer, a.InviteLifetime, link),
			HTML: fmt.Sprintf("<p>Hello,</p><p>you are invited to create an account at %s.</p><p><a href=\"%s\">Create your account</a> "+
				"(the link works once, for %s).</p>", html.EscapeString(a.Issuer), html.EscapeString(link), a.InviteLifetime),
			Links: []string{link},
		}, now)
	})
	if err != nil {
		return Invitation{}, err
	}
	return out, nil
}

// CheckInvitation returns the address of a usable invitation without
// spending it (GET /signup?invite=… shows it); ErrLinkInvalid otherwise.
func (s *Service) CheckInvitation(ctx context.Context, token string) (string, error) {
	if token == "" || len(token) > 200 {
		return "", ErrLinkInvalid
	}
	t, err := s.store.GetLinkToken(ctx, secret.HashToken(token), storage.LinkInvitation, s.clock())
	if errors.Is(err, storage.ErrNotFound) {
		return "", ErrLinkInvalid
	}
	if err != nil {
		return "", fmt.Errorf("get invitation: %w", err)
	}
	return t.Email, nil
}

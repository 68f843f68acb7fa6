package storage

import (
	"context"
	"time"
)

// Mail is one outgoing message in the durable queue (SPEC part two
// "Accounts"). It is enqueued in the transaction of the event that causes
// it, so a rolled-back sign-up sends nothing and a committed one is never
// lost. Links are the absolute URLs the message carries, kept so that
// `sesame mail list` can show them when no SMTP server is configured.
type Mail struct {
	ID        string
	Recipient string
	Subject   string
	TextBody  string
	HTMLBody  string
	Links     []string
	CreatedAt time.Time
	// Attempts counts failed deliveries; NextAttemptAt is when a worker may
	// try again (backoff is the caller's policy).
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	// ClaimedBy/LeaseUntil: the worker holding the message; another worker
	// may claim it only after LeaseUntil (the holder died).
	ClaimedBy  string
	LeaseUntil *time.Time
	SentAt     *time.Time
}

// MailStore is the outgoing-mail queue.
type MailStore interface {
	// EnqueueMail inserts; ErrConflict if the id exists.
	EnqueueMail(ctx context.Context, m Mail) error
	// ClaimMail leases up to limit unsent messages that are due
	// (NextAttemptAt <= now) and not leased at now to worker until
	// leaseUntil, oldest first, and returns them as claimed. A message
	// claimed by one caller is not returned to another before its lease
	// ends, also across processes on one database.
	ClaimMail(ctx context.Context, worker string, now, leaseUntil time.Time, limit int) ([]Mail, error)
	// MarkMailSent records delivery of a message leased to worker;
	// ErrNotFound if it is absent, sent, or no longer leased to worker.
	MarkMailSent(ctx context.Context, id, worker string, at time.Time) error
	// MarkMailFailed counts one failed attempt of a message leased to
	// worker, releases the lease and sets the next attempt; ErrNotFound as
	// for MarkMailSent.
	MarkMailFailed(ctx context.Context, id, worker, lastError string, next time.Time) error
	// GetMail returns one message; ErrNotFound if absent.
	GetMail(ctx context.Context, id string) (Mail, error)
	// ListMail lists up to limit messages, newest first (limit as in
	// ListOptions.EffectiveLimit).
	ListMail(ctx context.Context, limit int) ([]Mail, error)
	// CountUnsentMail counts messages not sent yet.
	CountUnsentMail(ctx context.Context) (int, error)
	// DeleteOldMail deletes up to limit messages created before `before`
	// (sent or not: retention is bounded) and returns how many.
	DeleteOldMail(ctx context.Context, before time.Time, limit int) (int, error)
}

// Link token purposes.
const (
	LinkVerifyEmail   = "verify_email"
	LinkPasswordReset = "password_reset"
	LinkInvitation    = "invitation"
	// LinkChangeEmail confirms a new address for an existing user; the
	// token's Email is the new address, pending until the link is used.
	LinkChangeEmail = "change_email"
)

// LinkToken is a single-use token sent by mail. Only Hash (SHA-256 of the
// random token, computed by the caller) is stored. The token is bound to
// its Purpose and to the Email it was sent to; UserID is "" for an
// invitation.
type LinkToken struct {
	Hash      string
	Purpose   string
	UserID    string
	Email     string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// LinkTokenStore keeps link tokens.
type LinkTokenStore interface {
	// CreateLinkToken inserts; ErrConflict if the hash exists.
	CreateLinkToken(ctx context.Context, t LinkToken) error
	// GetLinkToken returns the unused token with hash and purpose that is
	// unexpired at now; ErrNotFound otherwise.
	GetLinkToken(ctx context.Context, hash, purpose string, now time.Time) (LinkToken, error)
	// UseLinkToken marks that token used and returns it; ErrNotFound as
	// for GetLinkToken. Exactly one of several concurrent uses wins.
	UseLinkToken(ctx context.Context, hash, purpose string, now time.Time) (LinkToken, error)
	// DeleteUserLinkTokens deletes every unused token of userID with
	// purpose (a newer email change supersedes older links) and returns how
	// many.
	DeleteUserLinkTokens(ctx context.Context, userID, purpose string) (int, error)
	// DeleteStaleLinkTokens deletes up to limit tokens that expired before
	// `before` and returns how many.
	DeleteStaleLinkTokens(ctx context.Context, before time.Time, limit int) (int, error)
}

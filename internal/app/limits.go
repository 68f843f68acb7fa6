package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sesameauth/sesame/internal/throttle"
)

// This file is the one owner of the limits on self-service actions that
// send mail to an address someone typed (forgot password, sign-up): a
// stranger must not be able to use Sesame to flood a mailbox, nor to
// probe accounts faster than by hand.

// MailLimits are the two limits of each such action.
type MailLimits struct {
	// PerAddress counts requests from one client address (an IPv6 /64);
	// over it the request is refused visibly (*RateLimitedError), which
	// tells nothing about accounts.
	PerAddress throttle.Rate
	// PerRecipient counts mails to one recipient; over it no mail is
	// sent but the answer stays the same, so it cannot reveal whether an
	// account exists.
	PerRecipient throttle.Rate
}

// DefaultMailLimits: 10 requests per address and 3 mails per recipient
// per hour and action.
var DefaultMailLimits = MailLimits{
	PerAddress:   throttle.Rate{Max: 10, Window: time.Hour},
	PerRecipient: throttle.Rate{Max: 3, Window: time.Hour},
}

// ErrRateLimited is wrapped by *RateLimitedError.
var ErrRateLimited = errors.New("too many requests")

// RateLimitedError refuses a request over the per-address limit until
// Until (for Retry-After).
type RateLimitedError struct{ Until time.Time }

func (e *RateLimitedError) Error() string {
	return ErrRateLimited.Error() + " until " + e.Until.UTC().Format(time.RFC3339)
}

func (e *RateLimitedError) Unwrap() error { return ErrRateLimited }

// WithLimiter turns the mail limits on (nil: off, as in tests of other
// things); limits zero keeps DefaultMailLimits. Call it before use.
func (s *Service) WithLimiter(l *throttle.Limiter, limits MailLimits) *Service {
	s.limiter = l
	if limits != (MailLimits{}) {
		s.mailLimits = limits
	}
	return s
}

// limit applies the limits of action ("forgot", "signup") to a request
// from ip for recipient (the address the mail would go to, or what was
// typed when there is none, so the same counting happens either way). The
// address is counted first: over its limit the result is a
// *RateLimitedError and the recipient is not counted. send=false means
// the recipient has had enough mail: do the same work, send nothing.
func (s *Service) limit(ctx context.Context, action, ip, recipient string) (send bool, err error) {
	if s.limiter == nil {
		return true, nil
	}
	ok, until, err := s.limiter.Take(ctx, throttle.RateAddrKey(action, ip), s.mailLimits.PerAddress)
	if err != nil {
		return false, fmt.Errorf("rate limit: %w", err)
	}
	if !ok {
		return false, &RateLimitedError{Until: until}
	}
	ok, _, err = s.limiter.Take(ctx, throttle.RateRecipientKey(action, recipient), s.mailLimits.PerRecipient)
	if err != nil {
		return false, fmt.Errorf("rate limit: %w", err)
	}
	return ok, nil
}

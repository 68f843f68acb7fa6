package rs

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by Authenticate wraps exactly one of
// them, so middleware (ours or yours) can map it with errors.Is.
var (
	// ErrInvalidToken means the token was checked and must be refused: bad
	// signature, expired, wrong issuer or audience, revoked… The answer is
	// 401 with error="invalid_token" (RFC 6750 §3.1).
	ErrInvalidToken = errors.New("invalid_token")

	// ErrUnavailable means the token could not be checked: the issuer's
	// JWKS or introspection endpoint is unreachable or misconfigured. The
	// answer is 503, not 401, because a 401 would tell a well-behaved client
	// to throw away a token that may be perfectly valid.
	ErrUnavailable = errors.New("token verification unavailable")
)

// Error carries the reason a token was refused. Description is safe to send
// to the client in error_description: it never contains the token or key
// material. Err, when set, is the underlying cause for logs.
type Error struct {
	Kind        error // ErrInvalidToken or ErrUnavailable
	Description string
	Err         error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%v: %s: %v", e.Kind, e.Description, e.Err)
	}
	return fmt.Sprintf("%v: %s", e.Kind, e.Description)
}

// Unwrap lets errors.Is match both the kind and the cause.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}

func invalid(desc string, cause error) error {
	return &Error{Kind: ErrInvalidToken, Description: desc, Err: cause}
}

func unavailable(desc string, cause error) error {
	return &Error{Kind: ErrUnavailable, Description: desc, Err: cause}
}

// description returns the client-safe description of err.
func description(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Description != "" {
		return e.Description
	}
	return "the access token is invalid"
}

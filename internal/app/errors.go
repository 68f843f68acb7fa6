package app

import (
	"errors"
	"fmt"

	"github.com/sesameauth/sesame/storage"
)

// ValidationError says which input field is wrong and why. Callers map it to
// exit status 1 (CLI) or HTTP 400 invalid_request / invalid_client_metadata.
type ValidationError struct {
	Field  string // e.g. "redirect_uris[1]"
	Value  string // the offending value, "" when not useful (secrets never)
	Reason string
}

func (e *ValidationError) Error() string {
	if e.Value != "" {
		return fmt.Sprintf("%s %q: %s", e.Field, e.Value, e.Reason)
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Reason)
}

func invalid(field, value, reason string) *ValidationError {
	return &ValidationError{Field: field, Value: value, Reason: reason}
}

// ErrInvalidCredentials is returned by Passwords.Verify for an unknown user, a
// disabled user or a wrong password alike, so callers cannot tell them apart.
var ErrInvalidCredentials = errors.New("invalid username or password")

// IsValidation reports whether err is (or wraps) a *ValidationError.
func IsValidation(err error) bool {
	var v *ValidationError
	return errors.As(err, &v)
}

// kindError is a message for people that still matches a storage
// sentinel with errors.Is ("user \"bob\" not found", not
// "...: storage: not found").
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func notFound(what, id string) error {
	return &kindError{fmt.Sprintf("%s %q not found", what, id), storage.ErrNotFound}
}

func conflictf(format string, a ...any) error {
	return &kindError{fmt.Sprintf(format, a...), storage.ErrConflict}
}

func mapNotFound(err error, what, id string) error {
	if errors.Is(err, storage.ErrNotFound) {
		return notFound(what, id)
	}
	return err
}

package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
)

// opError is a failed iteration with the kind the report groups it under:
// "400 invalid_grant", "500", "timeout", "transport: connection refused",
// "flow: …". The kind is coarse on purpose so that a run yields a handful of
// rows, not one per request.
type opError struct {
	kind string
	err  error
}

func (e *opError) Error() string {
	if e.err == nil {
		return e.kind
	}
	return e.kind + ": " + e.err.Error()
}

func (e *opError) Unwrap() error { return e.err }

// flowError is a protocol-level failure that is not an HTTP status, such as
// a missing access_token or a state mismatch.
func flowError(format string, args ...any) error {
	return &opError{kind: "flow: " + fmt.Sprintf(format, args...)}
}

// kindOf maps any error from a flow to its report kind.
func kindOf(err error) string {
	var oe *opError
	if errors.As(err, &oe) {
		return oe.kind
	}
	return transportKind(err)
}

// transportKind classifies an error from http.Client.Do.
func transportKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "transport: connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "transport: connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "transport: eof"
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EMFILE):
		return "transport: local resources exhausted"
	default:
		return "transport: other"
	}
}

// statusError builds the error for an unexpected HTTP status, adding the
// OAuth `error` code (RFC 6749 §5.2, RFC 6750 §3) when the body or the
// WWW-Authenticate header carries one.
func statusError(resp *http.Response, body []byte) error {
	kind := fmt.Sprintf("%d", resp.StatusCode)
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" && len(e.Error) < 64 {
		kind += " " + e.Error
	} else if code := bearerError(resp.Header.Get("WWW-Authenticate")); code != "" {
		kind += " " + code
	}
	return &opError{kind: kind}
}

// bearerError extracts error="…" from a WWW-Authenticate: Bearer challenge.
func bearerError(h string) string {
	const key = `error="`
	for i := 0; i+len(key) <= len(h); i++ {
		if h[i:i+len(key)] != key || (i > 0 && h[i-1] != ' ' && h[i-1] != ',') {
			continue
		}
		rest := h[i+len(key):]
		for j := 0; j < len(rest) && j < 64; j++ {
			if rest[j] == '"' {
				return rest[:j]
			}
		}
	}
	return ""
}

package rs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// Authenticator turns a bearer token into a Principal. *Verifier,
// *Introspector and the value NewAuthenticator returns all implement it.
// Errors wrap ErrInvalidToken or ErrUnavailable.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (*Principal, error)
}

// Combined verifies JWTs locally and introspects everything else.
type Combined struct {
	verifier     *Verifier
	introspector *Introspector
}

// NewAuthenticator returns an Authenticator that sends tokens that look like
// JWTs to verifier and all others to introspector. Either may be nil: with no
// introspector, non-JWT tokens are refused; with no verifier, everything is
// introspected.
func NewAuthenticator(verifier *Verifier, introspector *Introspector) *Combined {
	return &Combined{verifier: verifier, introspector: introspector}
}

// Authenticate implements Authenticator. A token that looks like a JWT but
// fails local verification is refused, not introspected: falling back would
// let anyone turn a cheap local rejection into a round trip to the issuer.
func (c *Combined) Authenticate(ctx context.Context, token string) (*Principal, error) {
	if c.verifier != nil && LooksLikeJWT(token) {
		return c.verifier.Authenticate(ctx, token)
	}
	if c.introspector != nil {
		return c.introspector.Authenticate(ctx, token)
	}
	return nil, invalid("the token is not a JWT", nil)
}

// LooksLikeJWT reports whether token has the JWS compact shape (RFC 7515
// §7.1): three dot-separated parts whose first decodes to a JSON object with
// an "alg". It does not verify anything.
func LooksLikeJWT(token string) bool {
	head, rest, ok := strings.Cut(token, ".")
	if !ok || strings.Count(rest, ".") != 1 {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return false
	}
	var h struct {
		Alg string `json:"alg"`
	}
	return json.Unmarshal(raw, &h) == nil && h.Alg != ""
}

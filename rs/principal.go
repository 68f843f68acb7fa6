package rs

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Source says how a Principal was established.
const (
	SourceJWT           = "jwt"
	SourceIntrospection = "introspection"
)

// Principal is the verified caller behind a bearer token. Treat it as
// read-only: the introspection cache hands the same value to every request
// carrying the same token.
type Principal struct {
	// Subject is the token's sub: a user's stable id, or the client id for
	// client_credentials tokens.
	Subject string
	// ClientID is the OAuth client the token was issued to.
	ClientID string
	// Username is the human-readable name when the issuer disclosed one
	// (preferred_username or username claim, or introspection's username).
	Username string
	// Scopes are the granted scopes, in token order.
	Scopes []string
	// Audience is the token's aud.
	Audience []string
	// Expiry is the token's exp.
	Expiry time.Time
	// Claims holds every claim of the JWT, or every member of the
	// introspection response, as decoded JSON.
	Claims map[string]any
	// Source is SourceJWT or SourceIntrospection.
	Source string
}

// HasScope reports whether the token was granted scope.
func (p *Principal) HasScope(scope string) bool {
	return p != nil && slices.Contains(p.Scopes, scope)
}

// DisplayName is Username when known, else Subject.
func (p *Principal) DisplayName() string {
	if p.Username != "" {
		return p.Username
	}
	return p.Subject
}

type principalKey struct{}

// WithPrincipal returns a copy of ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the Principal stored by Middleware or Gin, or nil.
// With gin, pass c.Request.Context().
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// splitScope parses an RFC 6749 §3.3 scope string.
func splitScope(s string) []string {
	return strings.Fields(s)
}

// claimString returns m[name] when it is a string.
func claimString(m map[string]any, name string) string {
	s, _ := m[name].(string)
	return s
}

// claimStrings accepts a JSON string or array of strings (aud may be either,
// RFC 7519 §4.1.3).
func claimStrings(m map[string]any, name string) []string {
	switch v := m[name].(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return v
	}
	return nil
}

// claimTime reads a NumericDate (RFC 7519 §2), which json decodes as float64.
func claimTime(m map[string]any, name string) (time.Time, bool) {
	switch v := m[name].(type) {
	case float64:
		return time.Unix(int64(v), 0), true
	case int64:
		return time.Unix(v, 0), true
	}
	return time.Time{}, false
}

// usernameFrom picks the first username-like claim.
func usernameFrom(m map[string]any) string {
	for _, name := range []string{"preferred_username", "username"} {
		if s := claimString(m, name); s != "" {
			return s
		}
	}
	return ""
}

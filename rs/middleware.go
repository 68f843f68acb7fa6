package rs

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// Option adjusts Middleware and Gin.
type Option func(*options)

type options struct {
	realm string
	dpop  *DPoP // dpop.go; nil = the process-wide default
	// resourceMetadata is the RFC 9728 document's URL (metadata.go).
	resourceMetadata string
}

// WithRealm adds realm="…" to every WWW-Authenticate challenge
// (RFC 6750 §3).
func WithRealm(realm string) Option {
	return func(o *options) { o.realm = realm }
}

func buildOptions(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// challenge is one RFC 6750 §3 refusal: the status, the WWW-Authenticate
// header and a JSON body with the same error for clients that read bodies.
type challenge struct {
	status      int
	code        string // "", invalid_request, invalid_token, insufficient_scope
	description string
	scope       string
	// dpopAlgs, when set, makes this a DPoP challenge (RFC 9449 §7.1).
	dpopAlgs []string
	// metadata is the RFC 9728 resource_metadata URL (metadata.go).
	metadata string
}

func (c challenge) header(realm string) string {
	var params []string
	if realm != "" {
		params = append(params, `realm=`+quote(realm))
	}
	if c.code != "" {
		params = append(params, `error=`+quote(c.code))
	}
	if c.description != "" {
		params = append(params, `error_description=`+quote(descriptionChars(c.description)))
	}
	if c.scope != "" {
		params = append(params, `scope=`+quote(c.scope))
	}
	if c.metadata != "" {
		params = append(params, `resource_metadata=`+quote(c.metadata))
	}
	scheme := "Bearer"
	if c.dpopAlgs != nil {
		scheme = "DPoP"
		params = append(params, `algs=`+quote(strings.Join(c.dpopAlgs, " ")))
	}
	if len(params) == 0 {
		return scheme
	}
	return scheme + " " + strings.Join(params, ", ")
}

func (c challenge) write(w http.ResponseWriter, realm string) {
	// A verification outage is not the client's fault: no challenge, so the
	// client keeps its token and retries.
	if c.status != http.StatusServiceUnavailable {
		w.Header().Set("WWW-Authenticate", c.header(realm))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(c.status)
	if c.code == "" {
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"error": c.code, "error_description": c.description})
}

// quote makes an RFC 7230 §3.2.6 quoted-string.
func quote(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

// descriptionChars keeps only what RFC 6750 §3 allows in error_description
// (%x20-21 / %x23-5B / %x5D-7E: printable ASCII without " and \).
func descriptionChars(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}

// bearerToken extracts the RFC 6750 §2.1 token, or the RFC 9449 §7.1
// token of the DPoP scheme. ok is false when the request carries no such
// credentials at all.
func bearerToken(r *http.Request) (token string, dpopScheme, ok bool) {
	h := r.Header.Get("Authorization")
	scheme, rest, _ := strings.Cut(h, " ")
	// RFC 7235 §2.1: the scheme is case-insensitive.
	dpopScheme = strings.EqualFold(scheme, "DPoP")
	if !strings.EqualFold(scheme, "Bearer") && !dpopScheme {
		return "", false, false
	}
	return strings.TrimSpace(rest), dpopScheme, true
}

// authenticate runs the shared part of Middleware and Gin.
func authenticate(auth Authenticator, r *http.Request, o *options) (*Principal, *challenge) {
	token, dpopScheme, ok := bearerToken(r)
	if !ok {
		// RFC 6750 §3.1: no error code when the request has no credentials.
		return nil, &challenge{status: http.StatusUnauthorized}
	}
	if token == "" || strings.ContainsAny(token, " \t") {
		return nil, &challenge{status: http.StatusBadRequest, code: "invalid_request", description: "malformed Authorization header"}
	}
	p, err := auth.Authenticate(r.Context(), token)
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			return nil, &challenge{status: http.StatusServiceUnavailable, code: "temporarily_unavailable", description: "the access token cannot be checked right now"}
		}
		return nil, &challenge{status: http.StatusUnauthorized, code: "invalid_token", description: description(err)}
	}
	if ch := o.dpopChecker().check(r, token, dpopScheme, p); ch != nil {
		return nil, ch
	}
	return p, nil
}

// missingScopes returns the scopes of want that p lacks.
func missingScopes(p *Principal, want []string) []string {
	var missing []string
	for _, s := range want {
		if !p.HasScope(s) {
			missing = append(missing, s)
		}
	}
	return missing
}

func scopeChallenge(want []string) *challenge {
	// RFC 6750 §3: scope lists what the resource needs.
	return &challenge{
		status:      http.StatusForbidden,
		code:        "insufficient_scope",
		description: "the access token lacks a required scope",
		scope:       strings.Join(want, " "),
	}
}

type realmKey struct{}

// Middleware authenticates each request's bearer token with auth and puts
// the Principal in the request context (FromContext). Refusals follow
// RFC 6750 §3: 401 with a Bearer challenge, 400 for a malformed header,
// 503 when the issuer cannot be reached.
func Middleware(auth Authenticator, opts ...Option) func(http.Handler) http.Handler {
	o := buildOptions(opts)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ch := authenticate(auth, r, &o)
			if ch != nil {
				ch.metadata = o.resourceMetadata
				ch.write(w, o.realm)
				return
			}
			ctx := withMetadata(WithPrincipal(r.Context(), p), o.resourceMetadata)
			next.ServeHTTP(w, r.WithContext(withRealm(ctx, o.realm)))
		})
	}
}

// RequireScopes refuses with 403 insufficient_scope unless the Principal
// (set by Middleware, which must run first) holds every scope.
func RequireScopes(scopes ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			realm, md := realmFrom(r.Context()), metadataFrom(r.Context())
			p := FromContext(r.Context())
			if p == nil {
				(&challenge{status: http.StatusUnauthorized, metadata: md}).write(w, realm)
				return
			}
			if len(missingScopes(p, scopes)) > 0 {
				ch := scopeChallenge(scopes)
				ch.metadata = md
				ch.write(w, realm)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

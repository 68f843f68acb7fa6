package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/ory/fosite"

	"github.com/sesameauth/sesame/storage"
)

// The authorization endpoint is package oidc's (the front channel: login,
// consent, flows), but the protocol under it is fosite's. This file is the
// narrow seam between the two: oidc parses a request, reads it, grants
// scopes and audiences, and issues the code or answers an error through
// these functions, and never sees a fosite type or the request-state
// ritual (reqstate.go): every call carries the request's state itself, so
// a storage outage met inside fosite is answered 503, never as a protocol
// error, and no caller can forget it.

// AuthorizeRequest is one authorization request (RFC 6749 §4.1.1, OIDC
// Core §3.1.2.1) as fosite validated it.
type AuthorizeRequest struct {
	st     *reqState
	ar     fosite.AuthorizeRequester // may be set even when parsing failed
	client storage.Client
}

// ParseAuthorizeRequest validates r as an authorization request: client,
// redirect URI, response type, scopes and audience, a pushed request
// (RFC 9126) resolved, an absent state allowed (conformance.go). The
// request is returned even when err is set, so AuthorizeFailure can tell
// whether the client may be redirected to.
func (h *Handler) ParseAuthorizeRequest(ctx context.Context, r *http.Request) (*AuthorizeRequest, error) {
	ctx, st := withState(ctx)
	ar, err := authorizeProvider{h.provider}.NewAuthorizeRequest(ctx, r)
	a := &AuthorizeRequest{st: st, ar: ar}
	if err != nil {
		return a, err
	}
	cl, ok := ar.GetClient().(*Client)
	if !ok {
		return a, fosite.ErrServerError.WithDebugf("oauth: authorize request client is %T", ar.GetClient())
	}
	a.client = cl.Record()
	return a, nil
}

// context returns ctx carrying the request state of a, for fosite calls.
func (a *AuthorizeRequest) context(ctx context.Context) context.Context {
	return context.WithValue(ctx, reqStateKey{}, a.st)
}

// Client is the registered client of the request.
func (a *AuthorizeRequest) Client() storage.Client { return a.client }

// PublicClient reports whether the client has no secret (RFC 6749 §2.1).
func (a *AuthorizeRequest) PublicClient() bool { return a.ar.GetClient().IsPublic() }

// Form is the request's parameters (for a pushed request, the pushed
// ones). The caller must not change it.
func (a *AuthorizeRequest) Form() url.Values { return a.ar.GetRequestForm() }

// ResponseTypes are the values of response_type.
func (a *AuthorizeRequest) ResponseTypes() []string { return slices.Clone(a.ar.GetResponseTypes()) }

// ResponseMode is response_mode, "" when the request gave none.
func (a *AuthorizeRequest) ResponseMode() string { return string(a.ar.GetResponseMode()) }

// RequestedScopes are the scopes the client asked for.
func (a *AuthorizeRequest) RequestedScopes() []string { return slices.Clone(a.ar.GetRequestedScopes()) }

// RequestedAudience is the audience the client asked for (resource
// indicators replace it, AuthorizeResources).
func (a *AuthorizeRequest) RequestedAudience() []string {
	return slices.Clone(a.ar.GetRequestedAudience())
}

// Grant grants those of scopes the client asked for, and audience (the
// consent decides both; the code and the tokens carry them).
func (a *AuthorizeRequest) Grant(scopes, audience []string) {
	for _, s := range scopes {
		if a.ar.GetRequestedScopes().Has(s) {
			a.ar.GrantScope(s)
		}
	}
	for _, aud := range audience {
		a.ar.GrantAudience(aud)
	}
}

// GrantedScopes are the scopes granted so far.
func (a *AuthorizeRequest) GrantedScopes() []string { return slices.Clone(a.ar.GetGrantedScopes()) }

// AuthorizeGrant is who authorized a request, and how: what the session
// behind the code, its tokens and the ID token say.
type AuthorizeGrant struct {
	// UserID is the subject; Username goes into JWT access tokens.
	UserID, Username string
	// LoginSessionID is the browser login session that signed in.
	LoginSessionID string
	// AuthTime is when the user signed in; RequestedAt when the
	// authorization request was first received. fosite compares them for
	// prompt=login and max_age, so both are cut to whole seconds, as
	// they appear in tokens.
	AuthTime, RequestedAt time.Time
	// AMR and ACR are how the user signed in (RFC 8176); they go into the
	// ID token, JWT access tokens and introspection.
	AMR []string
	ACR string
	// Claims are further ID-token claims (sid, azp, profile and email
	// claims); sub is always UserID.
	Claims map[string]any
	// Groups are the user's groups, put into the tokens when the groups
	// scope was granted.
	Groups []string
}

// session builds the fosite session of an authorization.
func (g AuthorizeGrant) session(clientID string, granted []string) *Session {
	s := newSession(g.UserID, g.Username, clientID)
	s.LoginSessionID = g.LoginSessionID
	cl := s.IDTokenClaims()
	cl.AuthTime = g.AuthTime.UTC().Truncate(time.Second)
	cl.RequestedAt = g.RequestedAt.UTC().Truncate(time.Second)
	if len(g.AMR) > 0 {
		cl.AuthenticationMethodsReferences = slices.Clone(g.AMR)
		// acr and amr of the sign-in also go into JWT access tokens and
		// introspection (SPEC part two), so an API can demand two factors.
		cl.AuthenticationContextClassReference = g.ACR
		s.SetAuthentication(g.AMR, g.ACR)
	}
	if cl.Extra == nil {
		cl.Extra = map[string]any{}
	}
	for k, v := range g.Claims {
		if k != "sub" {
			cl.Extra[k] = v
		}
	}
	if slices.Contains(granted, ScopeGroups) {
		s.SetGroups(g.Groups) // the JWT access token's claim too
	}
	return s
}

// AuthorizeResponse is an issued authorization code, to be written by
// WriteAuthorizeResponse.
type AuthorizeResponse struct {
	resp fosite.AuthorizeResponder
	form *FormPost // response_mode=form_post (formpost.go)
}

// IssueCode issues the authorization code of a (RFC 6749 §4.1.2) for what
// was granted. The response names the issuer (RFC 9207: mix-up defence).
func (h *Handler) IssueCode(ctx context.Context, a *AuthorizeRequest, g AuthorizeGrant) (*AuthorizeResponse, error) {
	s := g.session(a.client.ID, a.ar.GetGrantedScopes())
	resp, err := authorizeProvider{h.provider}.NewAuthorizeResponse(a.context(ctx), a.ar, s)
	if err != nil {
		return nil, err
	}
	resp.AddParameter("iss", h.cfg.Issuer)
	return &AuthorizeResponse{resp: resp, form: newFormPost(a, resp.GetParameters())}, nil
}

// WriteAuthorizeResponse redirects the browser to the client with the
// code. A form_post response (FormPost not nil) is the caller's to
// render; fosite would write formPostFallback.
func (h *Handler) WriteAuthorizeResponse(ctx context.Context, w http.ResponseWriter, a *AuthorizeRequest, resp *AuthorizeResponse) {
	h.provider.WriteAuthorizeResponse(a.context(ctx), w, a.ar, resp.resp)
}

// AuthorizeError is an error answer of the authorization endpoint raised
// by the front channel (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6). Use the
// Err* values with WithHint.
type AuthorizeError struct {
	code, hint string
	cause      error
}

// The errors the front channel answers with.
var (
	ErrInvalidRequest          = AuthorizeError{code: "invalid_request"}
	ErrUnsupportedResponseType = AuthorizeError{code: "unsupported_response_type"}
	ErrUnsupportedResponseMode = AuthorizeError{code: "unsupported_response_mode"}
	ErrAccessDenied            = AuthorizeError{code: "access_denied"}
	ErrLoginRequired           = AuthorizeError{code: "login_required"}
	ErrConsentRequired         = AuthorizeError{code: "consent_required"}
	ErrTemporarilyUnavailable  = AuthorizeError{code: "temporarily_unavailable"}
	// ErrUnmetAuthentication is OpenID Connect Core Unmet Authentication
	// Requirements 1.0 §2: the request asked for an authentication the
	// sign-in did not deliver.
	ErrUnmetAuthentication = AuthorizeError{code: "unmet_authentication_requirements"}
)

// authorizeErrors are the answers of AuthorizeError codes.
var authorizeErrors = map[string]*fosite.RFC6749Error{
	ErrInvalidRequest.code:          fosite.ErrInvalidRequest,
	ErrUnsupportedResponseType.code: fosite.ErrUnsupportedResponseType,
	ErrUnsupportedResponseMode.code: fosite.ErrUnsupportedResponseMode,
	ErrAccessDenied.code:            fosite.ErrAccessDenied,
	ErrLoginRequired.code:           fosite.ErrLoginRequired,
	ErrConsentRequired.code:         fosite.ErrConsentRequired,
	ErrTemporarilyUnavailable.code:  fosite.ErrTemporarilyUnavailable,
	ErrUnmetAuthentication.code: {
		ErrorField:       ErrUnmetAuthentication.code,
		DescriptionField: "The authorization server could not meet the authentication requirements of the request.",
		CodeField:        http.StatusBadRequest,
	},
}

// WithHint returns e with a hint for the client developer.
func (e AuthorizeError) WithHint(hint string) AuthorizeError { e.hint = hint; return e }

// WithHintf is WithHint with formatting.
func (e AuthorizeError) WithHintf(format string, args ...any) AuthorizeError {
	e.hint = fmt.Sprintf(format, args...)
	return e
}

// WithCause returns e wrapping the failure behind it (logged, not sent).
func (e AuthorizeError) WithCause(err error) AuthorizeError { e.cause = err; return e }

func (e AuthorizeError) Error() string {
	if e.hint == "" {
		return e.code
	}
	return e.code + ": " + e.hint
}

func (e AuthorizeError) Unwrap() error { return e.cause }

func (e AuthorizeError) rfc() *fosite.RFC6749Error {
	base, ok := authorizeErrors[e.code]
	if !ok {
		base = fosite.ErrServerError
	}
	out := base
	if e.hint != "" {
		out = out.WithHint(e.hint)
	}
	if e.cause != nil {
		out = out.WithWrap(e.cause)
	}
	return out
}

// AuthorizeFailure is how to answer a failed authorization request.
type AuthorizeFailure struct {
	// Unavailable is the storage failure behind the error, if any: the
	// answer is then 503 and the error below is meaningless.
	Unavailable error
	// Code, Description and Hint are the OAuth error; Status its HTTP
	// status when it is shown on a page.
	Code, Description, Hint string
	Status                  int
	// RedirectTo is the client's redirect URI carrying the error, state
	// and iss (RFC 6749 §4.1.2.1, RFC 9207). It is nil unless fosite
	// validated the client and the redirect URI: the browser must then
	// not be sent anywhere (no open redirector). It is nil as well when
	// the request asked for response_mode=form_post: FormPost is set
	// instead.
	RedirectTo *url.URL
	// FormPost is the error as a form_post response (error,
	// error_description, state, iss), under the same conditions.
	FormPost *FormPost
}

// AuthorizeFailure says how to answer err, met while handling a (which
// may be nil, before any request was parsed).
func (h *Handler) AuthorizeFailure(a *AuthorizeRequest, err error) AuthorizeFailure {
	if a != nil {
		if serr := a.st.storeFailure(); serr != nil {
			return AuthorizeFailure{Unavailable: serr}
		}
	}
	var ae AuthorizeError
	if errors.As(err, &ae) {
		err = ae.rfc()
	}
	rfc := fosite.ErrorToRFC6749Error(err)
	f := AuthorizeFailure{Code: rfc.ErrorField, Description: rfc.DescriptionField, Hint: rfc.HintField, Status: rfc.CodeField}
	if a == nil {
		return f
	}
	u := a.RedirectURI()
	if u == nil {
		return f
	}
	params := rfc.ToValues()
	if s := a.ar.GetState(); s != "" {
		params.Set("state", s)
	}
	params.Set("iss", h.cfg.Issuer)
	if a.IsFormPost() {
		f.FormPost = newFormPost(a, params)
		return f
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	f.RedirectTo = u
	return f
}

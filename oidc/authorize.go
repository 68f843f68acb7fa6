package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/session"
	"github.com/sesameauth/sesame/oauth"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/web/ui"
)

// authzRequest is one pass through the authorization endpoint.
type authzRequest struct {
	ar     *oauth.AuthorizeRequest
	client storage.Client
	prompt []string
	// flow is set when the browser came back from login or consent.
	handle string
	flow   *storage.AuthFlow
	freq   session.FlowRequest
}

func (a *authzRequest) hasPrompt(p string) bool { return slices.Contains(a.prompt, p) }

// authorize is GET|POST /oauth2/authorize (RFC 6749 §4.1.1, OIDC Core
// §3.1.2). Without ?flow= it validates a new request; with ?flow= it
// resumes one after the login or consent page.
func (h *Handler) authorize(c *gin.Context) {
	w, r := c.Writer, c.Request
	ctx := r.Context()
	if h.refuseRepeated(ctx, w, r) {
		return
	}
	a := &authzRequest{handle: r.URL.Query().Get(session.FlowParam)}
	if a.handle != "" {
		f, freq, err := session.LoadFlow(ctx, h.store, a.handle, h.sessions.Now())
		if errors.Is(err, session.ErrFlowNotFound) {
			ui.Error(w, http.StatusBadRequest, "This sign-in request has expired",
				"Go back to the application and start signing in again.", "invalid_flow")
			return
		}
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		a.flow, a.freq = &f, freq
		// Re-validate the original request as it was first received: the
		// flow handle alone must not let anyone change client_id,
		// redirect_uri or scope.
		r = replayRequest(ctx, r, freq.Query)
	}
	ar, err := h.oauth.ParseAuthorizeRequest(ctx, r)
	if err != nil {
		h.authorizeError(ctx, w, r, ar, err)
		return
	}
	a.ar = ar
	if err := h.checkPolicy(ar); err != nil {
		h.authorizeError(ctx, w, r, ar, err)
		return
	}
	// RFC 8707: resource becomes the requested audience (checked again on
	// every pass, the flow replays the original request).
	if _, err := h.oauth.AuthorizeResources(ctx, ar); err != nil {
		h.authorizeError(ctx, w, r, ar, err)
		return
	}
	// RFC 9126 §5/§6: PAR required for everyone or for this client. A
	// resumed flow replays a request validated when it was new.
	if a.handle == "" && !oauth.IsPushedRequest(r.Form) && h.oauth.RequiresPushedRequest(ar.Client()) {
		h.authorizeError(ctx, w, r, ar, oauth.ErrInvalidRequest.WithHint(
			"Pushed authorization requests are required: send the request to the pushed_authorization_request_endpoint first."))
		return
	}
	a.client = ar.Client()
	if a.flow != nil && a.flow.ClientID != a.client.ID {
		ui.Error(w, http.StatusBadRequest, "This sign-in request is not valid",
			"Go back to the application and start signing in again.", "invalid_flow")
		return
	}
	a.prompt = strings.Fields(ar.Form().Get("prompt"))
	if a.flow == nil {
		h.start(ctx, w, r, a)
		return
	}
	h.resume(ctx, w, r, a)
}

// authorizeParams are the authorization request parameters that must not
// be sent more than once (RFC 6749 §3.1, OIDC Core §3.1.2.1). fosite
// reads only the first value of each, while a proxy, a WAF or the client
// may read another; the request is refused rather than guessed at.
// Other parameters may repeat: they are not read.
var authorizeParams = []string{
	"response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method", "prompt", "max_age", "login_hint",
	"id_token_hint", "acr_values", "response_mode", "display", "ui_locales",
	"claims", "request", "request_uri", "idp_hint",
}

// maxAuthorizeBody is the memory limit fosite uses when it parses the
// same form; parsing it here first must not change what fosite accepts.
const maxAuthorizeBody = 1 << 20

// refuseRepeated answers a request that repeats an authorization parameter,
// in the query or the POST body or across both, and reports whether it
// did. A repeated client_id or redirect_uri leaves the redirect target
// unknowable, so that is an error page; any other repeat is an
// invalid_request sent to the validated redirect URI like every other.
func (h *Handler) refuseRepeated(ctx context.Context, w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseMultipartForm(maxAuthorizeBody); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		// Answered here: a second parse by fosite would see the partly
		// filled form and not fail again.
		h.authorizeError(ctx, w, r, nil, oauth.ErrInvalidRequest.
			WithHint("Unable to parse HTTP body, make sure to send a properly formatted form request body.").
			WithCause(err))
		return true
	}
	var repeated []string
	for _, p := range authorizeParams {
		if len(r.Form[p]) > 1 {
			repeated = append(repeated, p)
		}
	}
	if len(repeated) == 0 {
		return false
	}
	refusal := oauth.ErrInvalidRequest.WithHintf("Parameters must not be included more than once: %s.", strings.Join(repeated, ", "))
	if slices.Contains(repeated, "client_id") || slices.Contains(repeated, "redirect_uri") {
		h.authorizeError(ctx, w, r, nil, refusal)
		return true
	}
	// fosite validates the client and redirect URI for the answer. It is
	// given the request without the repeated parameters, so it never picks
	// one of their values — and a repeated state is not echoed. Its own
	// verdict on the rest is not needed: the request is refused anyway.
	ar, _ := h.oauth.ParseAuthorizeRequest(ctx, withoutParams(ctx, r, repeated))
	h.authorizeError(ctx, w, r, ar, refusal)
	return true
}

// withoutParams is a copy of r, whose form is already parsed, with the
// named parameters removed.
func withoutParams(ctx context.Context, r *http.Request, names []string) *http.Request {
	r2 := r.Clone(ctx)
	for _, n := range names {
		r2.Form.Del(n)
		r2.PostForm.Del(n)
		if r2.MultipartForm != nil {
			delete(r2.MultipartForm.Value, n)
		}
	}
	return r2
}

// replayRequest turns the browser's GET ?flow= into the original
// authorization request.
func replayRequest(ctx context.Context, r *http.Request, query string) *http.Request {
	r2 := r.Clone(ctx)
	r2.Method = http.MethodGet
	u := *r.URL
	u.RawQuery = query
	r2.URL = &u
	r2.Body = http.NoBody
	r2.ContentLength = 0
	r2.Header.Del("Content-Type")
	r2.Form, r2.PostForm, r2.MultipartForm = nil, nil, nil
	return r2
}

// checkPolicy enforces what Sesame requires beyond fosite's request
// validation: the code flow only, query or form_post responses only (a
// form_post target must be an origin the page's CSP form-action can
// name: http or https), and PKCE S256
// (RFC 9700 §2.1.1; fosite checks the challenge only when issuing the
// code, after the user has signed in — too late to fail).
func (h *Handler) checkPolicy(ar *oauth.AuthorizeRequest) error {
	if rt := ar.ResponseTypes(); len(rt) != 1 || rt[0] != "code" {
		return oauth.ErrUnsupportedResponseType.WithHint("Only response_type=code is supported.")
	}
	switch ar.ResponseMode() {
	case "", "query":
	case "form_post":
		if _, err := ui.FormActionSource(ar.RedirectURI()); err != nil {
			return oauth.ErrUnsupportedResponseMode.WithHint("response_mode=form_post needs an http or https redirect URI with a host name or IPv4 address.")
		}
	default:
		return oauth.ErrUnsupportedResponseMode.WithHint("Only response_mode=query and response_mode=form_post are supported.")
	}
	form := ar.Form()
	prompt := strings.Fields(form.Get("prompt"))
	for _, p := range prompt {
		// select_account is accepted and ignored: there is one account
		// per browser session.
		if p != "none" && p != "login" && p != "consent" && p != "select_account" {
			return oauth.ErrInvalidRequest.WithHintf("Unsupported prompt value %q.", p)
		}
	}
	if slices.Contains(prompt, "none") && len(prompt) > 1 {
		// OIDC Core §3.1.2.1: none must stand alone.
		return oauth.ErrInvalidRequest.WithHint("prompt=none cannot be combined with other values.")
	}
	challenge, method := form.Get("code_challenge"), form.Get("code_challenge_method")
	switch {
	case challenge == "" && method != "":
		return oauth.ErrInvalidRequest.WithHint("code_challenge_method was given without code_challenge.")
	case challenge == "" && ar.PublicClient():
		return oauth.ErrInvalidRequest.WithHint("Public clients must use PKCE (code_challenge with code_challenge_method=S256).")
	case challenge != "" && method != "S256":
		return oauth.ErrInvalidRequest.WithHint("code_challenge_method must be S256; plain is not accepted.")
	}
	return nil
}

// start handles a new request: sign-in first if needed, then consent if
// needed, else answer at once (single sign-on).
func (h *Handler) start(ctx context.Context, w http.ResponseWriter, r *http.Request, a *authzRequest) {
	now := h.sessions.Now()
	ls, user, err := h.currentUser(ctx, r)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	forceLogin := a.hasPrompt("login") || tooOld(ls, a.ar.Form().Get("max_age"), now)
	if user == nil || forceLogin {
		if a.hasPrompt("none") {
			h.authorizeError(ctx, w, r, a.ar, oauth.ErrLoginRequired.WithHint("The user is not signed in (prompt=none)."))
			return
		}
		h.newFlow(ctx, w, r, a, session.FlowLogin, storage.LoginSession{})
		return
	}
	if h.needsMFA(a) && !app.HasMFA(ls.AMR) {
		// Step-up (SPEC part two): signed in with one factor, the request
		// needs two — the login pages ask only for the missing one.
		if a.hasPrompt("none") {
			h.authorizeError(ctx, w, r, a.ar, oauth.ErrUnmetAuthentication.WithHint("A second factor is needed and prompt=none forbids asking for it."))
			return
		}
		h.newFlow(ctx, w, r, a, session.FlowStepUp, ls)
		return
	}
	granted, ok := h.rememberedConsent(ctx, a, user.ID)
	if !ok {
		if a.hasPrompt("none") {
			h.authorizeError(ctx, w, r, a.ar, oauth.ErrConsentRequired.WithHint("The user has not consented to this request (prompt=none)."))
			return
		}
		h.newFlow(ctx, w, r, a, session.FlowConsent, ls)
		return
	}
	h.finish(ctx, w, r, a, *user, ls, granted, now)
}

// resume continues a flow after the login or consent page.
func (h *Handler) resume(ctx context.Context, w http.ResponseWriter, r *http.Request, a *authzRequest) {
	f := a.flow
	switch f.State {
	case session.FlowLogin:
		seeOther(w, r, session.LoginURL(a.handle))
		return
	case session.FlowStepUp:
		seeOther(w, r, session.FlowURL(session.PathLoginMFA, a.handle))
		return
	case session.FlowConsent:
		seeOther(w, r, session.ConsentURL(a.handle))
		return
	case session.FlowAuthenticated, session.FlowConsented, session.FlowDenied:
	default:
		ui.Error(w, http.StatusBadRequest, "This sign-in request was already used",
			"Go back to the application and start signing in again.", "invalid_flow")
		return
	}
	ls, user, err := h.currentUser(ctx, r)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if user == nil || ls.ID != f.SessionID || user.ID != f.UserID {
		// The browser finishing the flow must hold the session that
		// signed in for it.
		ui.Error(w, http.StatusForbidden, "Your session has changed",
			"Go back to the application and start signing in again.", "login_required")
		return
	}
	if (a.freq.MFA || h.needsMFA(a)) && !app.HasMFA(ls.AMR) {
		// The pages should not have let this through; the client asked
		// for two factors and gets an error rather than a one-factor code
		// (OpenID Connect Core Unmet Authentication Requirements 1.0).
		if !h.claimFlow(ctx, w, r, a) {
			return
		}
		h.authorizeError(ctx, w, r, a.ar, oauth.ErrUnmetAuthentication.WithHint("The sign-in did not use two factors."))
		return
	}
	// The original request time: prompt=login and max_age are judged
	// against it, and the login that just happened is after it.
	requestedAt := f.CreatedAt
	switch f.State {
	case session.FlowDenied:
		if !h.claimFlow(ctx, w, r, a) {
			return
		}
		h.authorizeError(ctx, w, r, a.ar, oauth.ErrAccessDenied.WithHint("The user denied the request."))
		return
	case session.FlowConsented:
		if !h.claimFlow(ctx, w, r, a) {
			return
		}
		h.finish(ctx, w, r, a, *user, ls, a.freq.Granted, requestedAt)
		return
	}
	// FlowAuthenticated: consent next, unless remembered or skipped.
	granted, ok := h.rememberedConsent(ctx, a, user.ID)
	if !ok {
		next := *f
		next.State = session.FlowConsent
		if err := h.store.UpdateFlowState(ctx, next, session.FlowAuthenticated); err != nil {
			h.flowConflict(w, r, err)
			return
		}
		seeOther(w, r, session.ConsentURL(a.handle))
		return
	}
	if !h.claimFlow(ctx, w, r, a) {
		return
	}
	h.finish(ctx, w, r, a, *user, ls, granted, requestedAt)
}

// claimFlow moves the flow to done exactly once (a replayed ?flow= URL
// loses the compare-and-swap) and deletes it.
func (h *Handler) claimFlow(ctx context.Context, w http.ResponseWriter, r *http.Request, a *authzRequest) bool {
	next := *a.flow
	next.State = session.FlowDone
	if err := h.store.UpdateFlowState(ctx, next, a.flow.State); err != nil {
		h.flowConflict(w, r, err)
		return false
	}
	if err := h.store.DeleteFlow(ctx, a.flow.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
		// Harmless: the flow is done and cannot be used again; the
		// janitor removes it when it expires.
		h.log.WarnContext(ctx, "oidc: delete finished flow", "err", err)
	}
	return true
}

func (h *Handler) flowConflict(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) {
		ui.Error(w, http.StatusBadRequest, "This sign-in request was already used",
			"Go back to the application and start signing in again.", "invalid_flow")
		return
	}
	h.serverError(w, r, err)
}

// newFlow stores the request and sends the browser to the login or
// consent page.
func (h *Handler) newFlow(ctx context.Context, w http.ResponseWriter, r *http.Request, a *authzRequest, state string, ls storage.LoginSession) {
	handle, id, err := session.NewFlowHandle()
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	now := h.sessions.Now()
	form := a.ar.Form()
	req := session.FlowRequest{
		Query:     form.Encode(),
		Scopes:    a.ar.RequestedScopes(),
		Audience:  a.ar.RequestedAudience(),
		LoginHint: form.Get("login_hint"),
		MFA:       h.needsMFA(a),
	}
	f := storage.AuthFlow{
		ID: id, ClientID: a.client.ID, UserID: ls.UserID, SessionID: ls.ID, State: state,
		Request: req.Encode(), CreatedAt: now, ExpiresAt: now.Add(session.FlowLifetime),
	}
	if err := h.store.CreateFlow(ctx, f); err != nil {
		h.serverError(w, r, err)
		return
	}
	page := session.PathLogin
	switch state {
	case session.FlowConsent:
		page = session.PathConsent
	case session.FlowStepUp:
		page = session.PathLoginMFA
	}
	// idp_hint (the name Keycloak and Azure AD B2C use) naming a
	// configured upstream skips the login page; an unknown one is
	// ignored, as login_hint is.
	if hint := form.Get("idp_hint"); state == session.FlowLogin && hint != "" && slices.Contains(h.idps, hint) {
		page = session.PathLoginUpstream + hint // ids are [a-z0-9_-]: nothing to escape
	}
	seeOther(w, r, session.FlowURL(page, handle))
}

// currentUser returns the browser's login session and its user; user is
// nil when there is no usable session (none, or the user was deleted or
// disabled since).
func (h *Handler) currentUser(ctx context.Context, r *http.Request) (storage.LoginSession, *storage.User, error) {
	ls, err := h.sessions.Current(ctx, r)
	if errors.Is(err, session.ErrNoSession) {
		return ls, nil, nil
	}
	if err != nil {
		return ls, nil, err
	}
	u, err := h.store.GetUser(ctx, ls.UserID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && u.Disabled) {
		return ls, nil, nil
	}
	if err != nil {
		return ls, nil, fmt.Errorf("oidc: load user: %w", err)
	}
	return ls, &u, nil
}

// needsMFA reports whether the request needs two factors: SESAME_MFA,
// the client's RequireMFA, or acr_values asking for urn:sesame:acr:mfa.
func (h *Handler) needsMFA(a *authzRequest) bool {
	return h.mfa.Needed(a.client, a.ar.Form().Get("acr_values"))
}

// tooOld reports whether max_age (OIDC Core §3.1.2.1) demands a new
// password check.
func tooOld(ls storage.LoginSession, maxAge string, now time.Time) bool {
	if maxAge == "" || ls.ID == "" {
		return false
	}
	n, err := strconv.ParseInt(maxAge, 10, 64)
	if err != nil || n < 0 {
		return false
	}
	return now.Sub(ls.AuthTime) > time.Duration(n)*time.Second
}

// rememberedConsent reports whether the request may proceed without the
// consent page, and which scopes to grant: the client skips consent, or a
// remembered consent covers every requested scope and audience (and
// prompt=consent does not demand the page).
func (h *Handler) rememberedConsent(ctx context.Context, a *authzRequest, userID string) ([]string, bool) {
	requested := a.ar.RequestedScopes()
	if a.hasPrompt("consent") {
		return nil, false
	}
	if a.client.SkipConsent {
		return requested, true
	}
	c, err := h.store.GetConsent(ctx, userID, a.client.ID)
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			h.log.WarnContext(ctx, "oidc: load consent", "err", err)
		}
		return nil, false
	}
	for _, s := range requested {
		if !slices.Contains(c.Scopes, s) {
			return nil, false
		}
	}
	for _, aud := range a.ar.RequestedAudience() {
		if !slices.Contains(c.Audience, aud) {
			return nil, false
		}
	}
	return requested, true
}

// finish issues the authorization code and redirects to the client.
func (h *Handler) finish(ctx context.Context, w http.ResponseWriter, r *http.Request, a *authzRequest, u storage.User, ls storage.LoginSession, granted []string, requestedAt time.Time) {
	ar := a.ar
	ar.Grant(granted, audienceFor(a))
	scopes := ar.GrantedScopes()
	groups, err := h.oauth.GroupsFor(ctx, u.ID, scopes)
	if err != nil {
		h.log.ErrorContext(ctx, "oidc: load the user's groups", "err", err)
		h.authorizeError(ctx, w, r, ar, oauth.ErrTemporarilyUnavailable.WithCause(err))
		return
	}
	resp, err := h.oauth.IssueCode(ctx, ar, h.grant(u, ls, a.client.ID, scopes, groups, requestedAt))
	if err != nil {
		h.authorizeError(ctx, w, r, ar, err)
		return
	}
	if fp := resp.FormPost(); fp != nil {
		// OAuth 2.0 Form Post Response Mode §2. checkPolicy made sure the
		// redirect URI has an origin the page's form-action can name.
		if err := ui.FormPost(w, fp.Action, fp.Params); err != nil {
			h.serverError(w, r, err)
		}
		return
	}
	ui.SetHeaders(w)
	h.oauth.WriteAuthorizeResponse(ctx, w, ar, resp)
}

func seeOther(w http.ResponseWriter, r *http.Request, location string) {
	ui.SetHeaders(w)
	http.Redirect(w, r, location, http.StatusSeeOther)
}

func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, err error) {
	ref := ui.Error(w, http.StatusInternalServerError, "error.server.heading", "error.internal.advice", "server_error")
	h.log.ErrorContext(r.Context(), "oidc: internal error", "ref", ref, "path", r.URL.Path, "err", err)
}

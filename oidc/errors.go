package oidc

import (
	"context"
	"net/http"

	"github.com/ory/fosite"

	"github.com/sesameauth/sesame/oauth"
	"github.com/sesameauth/sesame/web/ui"
)

// authorizeError answers a failed authorization request. Only a request
// whose client and redirect URI fosite has validated is answered at the
// redirect URI (RFC 6749 §4.1.2.1); anything else — unknown client,
// unregistered redirect URI — gets an HTML page and never a redirect, so
// the endpoint cannot be used as an open redirector. Redirects carry state
// and iss (RFC 9207) and use 303.
func (h *Handler) authorizeError(ctx context.Context, w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, err error) {
	if serr := oauth.StoreFailure(ctx); serr != nil {
		ref := ui.Error(w, http.StatusServiceUnavailable, "error.unavailable.heading", "error.unavailable.advice",
			"temporarily_unavailable")
		h.log.ErrorContext(ctx, "oidc: authorize storage failure", "ref", ref, "err", serr)
		return
	}
	rfc := fosite.ErrorToRFC6749Error(err)
	if ar == nil || !ar.IsRedirectURIValid() || ar.GetRedirectURI() == nil {
		status := rfc.CodeField
		if status < 400 {
			status = http.StatusBadRequest
		}
		heading, advice := plainAuthorizeError(rfc.ErrorField)
		ref := ui.Error(w, status, heading, advice, rfc.ErrorField)
		h.log.InfoContext(ctx, "oidc: authorization request refused", "ref", ref,
			"error", rfc.ErrorField, "description", rfc.DescriptionField, "hint", rfc.HintField)
		return
	}
	u := *ar.GetRedirectURI()
	u.Fragment = ""
	q := u.Query()
	for k, vs := range rfc.ToValues() {
		q[k] = vs
	}
	if s := ar.GetState(); s != "" {
		q.Set("state", s)
	}
	q.Set("iss", h.issuer)
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", u.String())
	w.WriteHeader(http.StatusSeeOther)
}

// plainAuthorizeError says, for a person, what went wrong with an
// authorization request that cannot go back to the app, and what to do.
// fosite's protocol text ("Client authentication failed (e.g., unknown
// client, …)") goes to the log only.
func plainAuthorizeError(code string) (heading, advice string) {
	// Message keys of web/ui/messages/*.json.
	switch code {
	case fosite.ErrInvalidClient.ErrorField:
		return "error.unknown_app.heading", "error.unknown_app.advice"
	case fosite.ErrInvalidRequest.ErrorField, fosite.ErrInvalidRequestURI.ErrorField:
		return "error.bad_link.heading", "error.bad_link.advice"
	case fosite.ErrUnauthorizedClient.ErrorField, fosite.ErrUnsupportedResponseType.ErrorField,
		fosite.ErrInvalidScope.ErrorField:
		return "error.not_allowed.heading", "error.not_allowed.advice"
	case fosite.ErrServerError.ErrorField, fosite.ErrTemporarilyUnavailable.ErrorField:
		return "error.server.heading", "error.server.advice"
	}
	return "error.generic.heading", "error.generic.advice"
}

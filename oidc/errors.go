package oidc

import (
	"context"
	"net/http"

	"github.com/sesameauth/sesame/oauth"
	"github.com/sesameauth/sesame/web/ui"
)

// authorizeError answers a failed authorization request. Only a request
// whose client and redirect URI fosite has validated is answered at the
// redirect URI (RFC 6749 §4.1.2.1); anything else — unknown client,
// unregistered redirect URI — gets an HTML page and never a redirect, so
// the endpoint cannot be used as an open redirector. Redirects carry state
// and iss (RFC 9207) and use 303; with response_mode=form_post the same
// parameters are POSTed by the form_post page.
func (h *Handler) authorizeError(ctx context.Context, w http.ResponseWriter, r *http.Request, ar *oauth.AuthorizeRequest, err error) {
	f := h.oauth.AuthorizeFailure(ar, err)
	if f.Unavailable != nil {
		ref := ui.Error(w, http.StatusServiceUnavailable, "error.unavailable.heading", "error.unavailable.advice",
			"temporarily_unavailable")
		h.log.ErrorContext(ctx, "oidc: authorize storage failure", "ref", ref, "err", f.Unavailable)
		return
	}
	if f.FormPost != nil {
		// response_mode=form_post: the error is POSTed to the redirect URI
		// like a code (OAuth 2.0 Form Post Response Mode §2). A target the
		// page's CSP cannot name gets the error page below instead.
		if ui.FormPost(w, f.FormPost.Action, f.FormPost.Params) == nil {
			return
		}
	}
	if f.RedirectTo == nil {
		status := f.Status
		if status < 400 {
			status = http.StatusBadRequest
		}
		heading, advice := plainAuthorizeError(f.Code)
		ref := ui.Error(w, status, heading, advice, f.Code)
		h.log.InfoContext(ctx, "oidc: authorization request refused", "ref", ref,
			"error", f.Code, "description", f.Description, "hint", f.Hint)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", f.RedirectTo.String())
	w.WriteHeader(http.StatusSeeOther)
}

// plainAuthorizeError says, for a person, what went wrong with an
// authorization request that cannot go back to the app, and what to do.
// fosite's protocol text ("Client authentication failed (e.g., unknown
// client, …)") goes to the log only.
func plainAuthorizeError(code string) (heading, advice string) {
	// Message keys of web/ui/messages/*.json.
	switch code {
	case "invalid_client":
		return "error.unknown_app.heading", "error.unknown_app.advice"
	case "invalid_request", "invalid_request_uri":
		return "error.bad_link.heading", "error.bad_link.advice"
	case "unauthorized_client", "unsupported_response_type", "invalid_scope":
		return "error.not_allowed.heading", "error.not_allowed.advice"
	case "server_error", "temporarily_unavailable":
		return "error.server.heading", "error.server.advice"
	}
	return "error.generic.heading", "error.generic.advice"
}

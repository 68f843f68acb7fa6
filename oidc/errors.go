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
		h.log.ErrorContext(ctx, "oidc: authorize storage failure", "err", serr)
		ui.Error(w, http.StatusServiceUnavailable, "Sesame is temporarily unavailable",
			"Try again in a moment.", "temporarily_unavailable")
		return
	}
	rfc := fosite.ErrorToRFC6749Error(err)
	if ar == nil || !ar.IsRedirectURIValid() || ar.GetRedirectURI() == nil {
		h.log.InfoContext(ctx, "oidc: authorization request refused", "error", rfc.ErrorField, "hint", rfc.HintField)
		status := rfc.CodeField
		if status < 400 {
			status = http.StatusBadRequest
		}
		ui.Error(w, status, "This sign-in request cannot be accepted", describe(rfc), rfc.ErrorField)
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

// describe is the human text of an error for the HTML page: fosite's
// description and hint, which never carry internal detail (debug
// messages are not sent, SendDebugMessagesToClients is off).
func describe(e *fosite.RFC6749Error) string {
	d := e.DescriptionField
	if e.HintField != "" {
		d += " " + e.HintField
	}
	return d
}

package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/web/ui"
)

// This file is the self-service password reset (SPEC "Accounts"): the
// form that asks for a link (/password/forgot) and the page the link
// opens (/password/reset?token=). The rules — identical answers, limits,
// single-use links bound to the address, what a reset revokes — are
// internal/app's (reset.go, limits.go); the pages only show them.

// CSRF bindings of the reset forms.
const (
	bindForgot = "password-forgot"
	bindReset  = "password-reset"
)

// forgotData is the "forgot password" page. Sent shows the one answer
// given whether or not an account matched.
type forgotData struct {
	CSRF, Identifier, Error string
	Sent, MailOff           bool
}

// resetData is the "choose a new password" page; Token is the link's
// token, carried in a hidden field so it stays out of the POST's URL
// (and of access logs of the POST).
type resetData struct {
	CSRF, Token, Error string
	// Invalid: the link is unknown, used, expired or no longer matches
	// the account's address; the page offers a new one.
	Invalid bool
}

// forgotLink is the login page's "Forgot password?" ("" when no mail can
// be delivered: the link could never arrive).
func (h *Handler) forgotLink() string {
	if h.mailOff {
		return ""
	}
	return app.PathForgotPassword
}

// forgotPage is GET /password/forgot.
func (h *Handler) forgotPage(w http.ResponseWriter, r *http.Request) {
	status := http.StatusOK
	if h.mailOff {
		status = http.StatusServiceUnavailable
	}
	h.renderForgot(w, r, status, forgotData{Identifier: r.URL.Query().Get("identifier")})
}

func (h *Handler) renderForgot(w http.ResponseWriter, r *http.Request, status int, d forgotData) {
	csrf, err := h.sessions.CSRFToken(w, r, bindForgot)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	d.CSRF, d.MailOff = csrf, h.mailOff
	ui.Render(w, status, "forgot", "Reset your password", d)
}

// forgotSubmit is POST /password/forgot (field identifier: username or
// email). The page says "if an account matches, a link is on its way"
// whether or not one does.
func (h *Handler) forgotSubmit(w http.ResponseWriter, r *http.Request) {
	if !h.sessions.CheckCSRF(r, bindForgot, r.PostFormValue("csrf_token")) {
		forbidden(w)
		return
	}
	d := forgotData{Identifier: r.PostFormValue("identifier")}
	if h.mailOff {
		h.renderForgot(w, r, http.StatusServiceUnavailable, d)
		return
	}
	err := h.app.ForgotPassword(r.Context(), app.ForgotRequest{
		Identifier: d.Identifier, IP: clientIP(r), ResetURL: h.issuer + app.PathResetPassword,
	})
	switch {
	case app.IsValidation(err):
		d.Error = "forgot.invalid"
		h.renderForgot(w, r, http.StatusBadRequest, d)
	case h.tooMany(w, err):
		d.Error = "signup.too_many"
		h.renderForgot(w, r, http.StatusTooManyRequests, d)
	case err != nil:
		h.serverError(w, r, err)
	default:
		d.Sent = true
		h.renderForgot(w, r, http.StatusOK, d)
	}
}

// resetPage is GET /password/reset?token=…, the link of the mail. The
// link is checked, not spent: the form is shown only for a usable one.
func (h *Handler) resetPage(w http.ResponseWriter, r *http.Request) {
	d := resetData{Token: r.URL.Query().Get("token")}
	err := h.app.CheckResetLink(r.Context(), d.Token)
	switch {
	case errors.Is(err, app.ErrLinkInvalid):
		h.renderReset(w, r, http.StatusBadRequest, resetData{Invalid: true})
	case err != nil:
		h.serverError(w, r, err)
	default:
		h.renderReset(w, r, http.StatusOK, d)
	}
}

func (h *Handler) renderReset(w http.ResponseWriter, r *http.Request, status int, d resetData) {
	csrf, err := h.sessions.CSRFToken(w, r, bindReset)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	d.CSRF = csrf
	ui.Render(w, status, "reset", "Reset your password", d)
}

// resetSubmit is POST /password/reset (fields token, password). A
// password the policy refuses keeps the link usable for another try.
func (h *Handler) resetSubmit(w http.ResponseWriter, r *http.Request) {
	if !h.sessions.CheckCSRF(r, bindReset, r.PostFormValue("csrf_token")) {
		forbidden(w)
		return
	}
	d := resetData{Token: r.PostFormValue("token")}
	u, err := h.app.ResetPassword(r.Context(), d.Token, r.PostFormValue("password"))
	switch {
	case errors.Is(err, app.ErrLinkInvalid):
		h.renderReset(w, r, http.StatusBadRequest, resetData{Invalid: true})
	case app.IsValidation(err):
		d.Error = "signup.invalid_password"
		h.renderReset(w, r, http.StatusBadRequest, d)
	case err != nil:
		h.serverError(w, r, err)
	default:
		// The reset ended every session of the user (this browser's
		// included, if it had one), so the next page is the sign-in.
		h.log.InfoContext(r.Context(), "web: password reset", "user_id", u.ID)
		ui.Render(w, http.StatusOK, "resetdone", "Reset your password", nil)
	}
}

// tooMany answers true for a request over a per-address limit of
// internal/app (limits.go), after setting Retry-After; the caller renders
// its page with 429.
func (h *Handler) tooMany(w http.ResponseWriter, err error) bool {
	var rl *app.RateLimitedError
	if !errors.As(err, &rl) {
		return false
	}
	w.Header().Set("Retry-After", strconv.Itoa(throttle.RetryAfter(rl.Until, h.now())))
	return true
}

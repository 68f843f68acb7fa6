package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/web/ui"
)

// CSRF bindings of the anonymous account forms.
const (
	bindSignup = "signup"
	bindResend = "verify-resend"
)

// signupData is the sign-up page (SPEC "Accounts": fields username,
// email, password, optional name).
type signupData struct {
	Action, CSRF          string
	Username, Email, Name string
	// Invited is the invited address (fixed; the form's email field is
	// shown read-only), Invite the token carried in the form.
	Invited, Invite string
	Error           string
	// Field is the input the error is about ("" for none).
	Field string
}

// signupSentData is the answer to a sign-up: "check your mail" (the same
// whether an account was made or the address had one) or, after an
// invitation, "account created, sign in".
type signupSentData struct {
	Email    string
	Verified bool
}

// resendData is the "send the verification link again" page.
type resendData struct {
	CSRF, Identifier, Error string
	Sent, MailOff           bool
}

// signupMode is SESAME_SIGNUP as the use cases see it.
func (h *Handler) signupMode() string { return h.app.Accounts().Signup }

// signupLink is the login page's "Create account" (only in open mode:
// in invite mode the way in is the invitation mail).
func (h *Handler) signupLink() string {
	if h.signupMode() == app.SignupOpen {
		return app.PathSignup
	}
	return ""
}

// signupPage is GET /signup[?invite=…].
func (h *Handler) signupPage(w http.ResponseWriter, r *http.Request) {
	d := signupData{Invite: r.URL.Query().Get(app.InviteParam)}
	if !h.signupAllowed(w, r, &d) {
		return
	}
	h.renderSignup(w, r, http.StatusOK, d)
}

// signupAllowed answers the cases where no form is shown: sign-up off
// (404), invite mode without an invitation, a bad invitation, no mail.
// For a good invitation it fills in the invited address.
func (h *Handler) signupAllowed(w http.ResponseWriter, r *http.Request, d *signupData) bool {
	mode := h.signupMode()
	switch {
	case mode == app.SignupOff:
		ui.NotFound(w, r)
		return false
	case d.Invite != "":
		email, err := h.app.CheckInvitation(r.Context(), d.Invite)
		if errors.Is(err, app.ErrLinkInvalid) {
			ui.Error(w, http.StatusBadRequest, "signup.invite_invalid_heading", "signup.invite_invalid", "invalid_link")
			return false
		}
		if err != nil {
			h.serverError(w, r, err)
			return false
		}
		d.Invited, d.Email = email, email
	case mode == app.SignupInvite:
		ui.Error(w, http.StatusForbidden, "signup.invite_only_heading", "signup.invite_only", "invite_only")
		return false
	case h.mailOff:
		ui.Error(w, http.StatusServiceUnavailable, "signup.heading", "signup.needs_mail", "mail_off")
		return false
	}
	return true
}

func (h *Handler) renderSignup(w http.ResponseWriter, r *http.Request, status int, d signupData) {
	csrf, err := h.sessions.CSRFToken(w, r, bindSignup)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	d.CSRF, d.Action = csrf, app.PathSignup
	if d.Invite != "" {
		d.Action += "?" + url.Values{app.InviteParam: {d.Invite}}.Encode()
	}
	ui.Render(w, status, "signup", "Create account", d)
}

// signupSubmit is POST /signup.
func (h *Handler) signupSubmit(w http.ResponseWriter, r *http.Request) {
	d := signupData{Invite: r.URL.Query().Get(app.InviteParam)}
	if !h.signupAllowed(w, r, &d) {
		return
	}
	if !h.sessions.CheckCSRF(r, bindSignup, r.PostFormValue("csrf_token")) {
		forbidden(w)
		return
	}
	d.Username, d.Name = r.PostFormValue("username"), r.PostFormValue("name")
	if d.Invited == "" {
		d.Email = r.PostFormValue("email")
	}
	res, err := h.app.SignUp(r.Context(), app.SignUp{
		Username: d.Username, Email: d.Email, Password: r.PostFormValue("password"), Name: d.Name,
		Invitation: d.Invite, IP: clientIP(r),
	})
	var ve *app.ValidationError
	switch {
	case errors.As(err, &ve):
		d.Error, d.Field = "signup.invalid_"+ve.Field, ve.Field
		h.renderSignup(w, r, http.StatusBadRequest, d)
		return
	case errors.Is(err, app.ErrUsernameTaken):
		d.Error, d.Field = "signup.username_taken", "username"
		h.renderSignup(w, r, http.StatusConflict, d)
		return
	case errors.Is(err, app.ErrLinkInvalid):
		ui.Error(w, http.StatusBadRequest, "signup.invite_invalid_heading", "signup.invite_invalid", "invalid_link")
		return
	case errors.Is(err, app.ErrSignupClosed):
		ui.Error(w, http.StatusForbidden, "signup.invite_only_heading", "signup.invite_only", "invite_only")
		return
	case errors.Is(err, app.ErrMailOff):
		ui.Error(w, http.StatusServiceUnavailable, "signup.heading", "signup.needs_mail", "mail_off")
		return
	case h.tooMany(w, err):
		d.Error = "signup.too_many"
		h.renderSignup(w, r, http.StatusTooManyRequests, d)
		return
	case err != nil:
		h.serverError(w, r, err)
		return
	}
	if res.Created {
		h.log.InfoContext(r.Context(), "web: signed up", "user_id", res.User.ID, "invited", res.Verified)
	}
	// The same page whether or not an account was made (res.Created).
	ui.Render(w, http.StatusOK, "signupsent", "Create account", signupSentData{Email: res.Email, Verified: res.Verified})
}

// verifyEmail is GET /verify-email?token=…, the link of the mail.
func (h *Handler) verifyEmail(w http.ResponseWriter, r *http.Request) {
	u, err := h.app.VerifyEmail(r.Context(), r.URL.Query().Get("token"))
	if errors.Is(err, app.ErrLinkInvalid) {
		ui.Render(w, http.StatusBadRequest, "verifyemail", "Email address", verifyData{Resend: app.PathResendVerification})
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "web: email verified", "user_id", u.ID)
	ui.Render(w, http.StatusOK, "verifyemail", "Email address", verifyData{OK: true, Email: u.Email})
}

// verifyData is the answer of a verification link.
type verifyData struct {
	OK            bool
	Email, Resend string
}

// resendPage is GET /verify-email/resend.
func (h *Handler) resendPage(w http.ResponseWriter, r *http.Request) {
	h.renderResend(w, r, http.StatusOK, resendData{Identifier: r.URL.Query().Get("identifier")})
}

func (h *Handler) renderResend(w http.ResponseWriter, r *http.Request, status int, d resendData) {
	csrf, err := h.sessions.CSRFToken(w, r, bindResend)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	d.CSRF, d.MailOff = csrf, h.mailOff
	ui.Render(w, status, "resend", "Email address", d)
}

// resendSubmit is POST /verify-email/resend (field identifier: username
// or email). The answer is the same whether or not such an account waits
// for verification.
func (h *Handler) resendSubmit(w http.ResponseWriter, r *http.Request) {
	if !h.sessions.CheckCSRF(r, bindResend, r.PostFormValue("csrf_token")) {
		forbidden(w)
		return
	}
	d := resendData{Identifier: r.PostFormValue("identifier")}
	err := h.app.ResendVerification(r.Context(), d.Identifier, clientIP(r))
	switch {
	case app.IsValidation(err):
		d.Error = "resend.invalid"
		h.renderResend(w, r, http.StatusBadRequest, d)
	case errors.Is(err, app.ErrMailOff):
		h.renderResend(w, r, http.StatusServiceUnavailable, d)
	case h.tooMany(w, err):
		d.Error = "signup.too_many"
		h.renderResend(w, r, http.StatusTooManyRequests, d)
	case err != nil:
		h.serverError(w, r, err)
	default:
		d.Sent = true
		h.renderResend(w, r, http.StatusOK, d)
	}
}

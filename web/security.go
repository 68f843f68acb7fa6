package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/web/ui"
)

// /account/security: the signed-in user's second factors (SPEC part two).
// Turning a factor on needs only the session and a code from the new
// factor; removing one or replacing the recovery codes needs a fresh
// check (the password, or a second-factor code), so a browser left signed
// in cannot quietly weaken the account.

type securityData struct {
	CSRF, Notice, Error string
	TOTP                *app.FactorView
	RecoveryLeft        int
	Passkeys            []app.FactorView
	PasskeysEnabled     bool
}

var securityNotices = map[string]string{
	"totp":    "security.done_totp",
	"removed": "security.done_removed",
	"passkey": "security.done_passkey",
	"renamed": "security.done_renamed",
}

func (h *Handler) securityPage(w http.ResponseWriter, r *http.Request) {
	s, u, ok := h.accountUser(w, r)
	if !ok {
		return
	}
	h.renderSecurity(w, r, http.StatusOK, s, u, securityNotices[r.URL.Query().Get("done")], "")
}

func (h *Handler) renderSecurity(w http.ResponseWriter, r *http.Request, status int, s storage.LoginSession, u storage.User, notice, msg string) {
	views, left, err := h.factors.Views(r.Context(), u.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	csrf, err := h.sessions.CSRFToken(w, r, accountBinding(s))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	d := securityData{CSRF: csrf, Notice: notice, Error: msg, RecoveryLeft: left,
		PasskeysEnabled: h.factors.MFA().PasskeysEnabled()}
	for i := range views {
		switch views[i].Kind {
		case string(storage.FactorTOTP):
			d.TOTP = &views[i]
		case string(storage.FactorWebAuthn):
			d.Passkeys = append(d.Passkeys, views[i])
		}
	}
	ui.Render(w, status, "security", "security.heading", d)
}

// securityUser is accountUser plus the CSRF check of a form post.
func (h *Handler) securityUser(w http.ResponseWriter, r *http.Request) (storage.LoginSession, storage.User, bool) {
	s, u, ok := h.accountUser(w, r)
	if !ok {
		return s, u, false
	}
	if !h.sessions.CheckCSRF(r, accountBinding(s), r.PostFormValue("csrf_token")) {
		forbidden(w)
		return s, u, false
	}
	return s, u, true
}

func (h *Handler) securityTOTP(w http.ResponseWriter, r *http.Request) {
	s, u, ok := h.securityUser(w, r)
	if !ok {
		return
	}
	e, err := h.factors.BeginTOTP(r.Context(), u)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.renderAccountEnrol(w, r, http.StatusOK, s, totpView(e), "")
}

func (h *Handler) renderAccountEnrol(w http.ResponseWriter, r *http.Request, status int, s storage.LoginSession, d totpData, msg string) {
	csrf, err := h.sessions.CSRFToken(w, r, accountBinding(s))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	d.Action, d.CSRF, d.Error, d.Cancel = "/account/security/totp/confirm", csrf, msg, "/account/security"
	ui.Render(w, status, "totp", "totp.heading", d)
}

func (h *Handler) securityTOTPConfirm(w http.ResponseWriter, r *http.Request) {
	s, u, ok := h.securityUser(w, r)
	if !ok {
		return
	}
	factorID := r.PostFormValue("factor")
	err := h.factors.ConfirmTOTP(r.Context(), u, factorID, r.PostFormValue("code"), h.client(r))
	if errors.Is(err, app.ErrInvalidCode) {
		e, perr := h.factors.PendingTOTP(r.Context(), u, factorID)
		if perr != nil {
			seeOther(w, r, "/account/security")
			return
		}
		h.renderAccountEnrol(w, r, http.StatusUnauthorized, s, totpView(e), "totp.wrong")
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	seeOther(w, r, "/account/security?done=totp")
}

// reauthenticate runs the fresh check of a form with `password` (or
// `code`); ok=false means the page was answered.
func (h *Handler) reauthenticate(w http.ResponseWriter, r *http.Request, s storage.LoginSession, u storage.User) bool {
	err := h.factors.Reauthenticate(r.Context(), u, r.PostFormValue("password"), r.PostFormValue("code"), h.client(r))
	var le *app.LockedError
	switch {
	case err == nil:
		return true
	case errors.As(err, &le):
		w.Header().Set("Retry-After", strconv.Itoa(throttle.RetryAfter(le.Until, h.now())))
		h.renderSecurity(w, r, http.StatusTooManyRequests, s, u, "", throttle.Message)
	case errors.Is(err, app.ErrInvalidCredentials), errors.Is(err, app.ErrInvalidCode):
		h.audit(r.Context(), r, auditReauth, u.ID, "", outcomeFailure)
		h.renderSecurity(w, r, http.StatusUnauthorized, s, u, "", "security.wrong_password")
	default:
		h.serverError(w, r, err)
	}
	return false
}

func (h *Handler) securityRemove(w http.ResponseWriter, r *http.Request) {
	s, u, ok := h.securityUser(w, r)
	if !ok || !h.reauthenticate(w, r, s, u) {
		return
	}
	err := h.factors.Remove(r.Context(), u, r.PostFormValue("factor"), h.client(r))
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		h.serverError(w, r, err)
		return
	}
	seeOther(w, r, "/account/security?done=removed")
}

type recoveryData struct {
	Codes []string
	Next  string
}

func (h *Handler) securityRecovery(w http.ResponseWriter, r *http.Request) {
	s, u, ok := h.securityUser(w, r)
	if !ok || !h.reauthenticate(w, r, s, u) {
		return
	}
	codes, err := h.factors.NewRecoveryCodes(r.Context(), u, h.client(r))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	// Shown once: the page is no-store (ui.SetHeaders) and the codes
	// exist nowhere else in clear.
	ui.Render(w, http.StatusOK, "recovery", "recovery.heading", recoveryData{Codes: codes, Next: "/account/security"})
}

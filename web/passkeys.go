package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/mfa"
	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
)

// Passkeys (WebAuthn) need the browser's navigator.credentials, so these
// endpoints are called by /static/passkeys.js with fetch and answer JSON:
// a begin call returns the ceremony options and a sealed ticket, the
// finish call sends the ticket back with the authenticator's answer. The
// CSRF token of the page travels in the X-CSRF-Token header (and
// protect's cross-origin check applies as to every form post).

// maxPasskeyBody bounds a finish request: a credential and a ticket are a
// few kilobytes.
const maxPasskeyBody = 64 << 10

type passkeyFinish struct {
	Ticket     string          `json:"ticket"`
	Credential json.RawMessage `json:"credential"`
	Name       string          `json:"name"`
}

func writeJSONResponse(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func jsonError(w http.ResponseWriter, status int, code, message string) {
	writeJSONResponse(w, status, map[string]string{"error": code, "error_description": message})
}

func (h *Handler) jsonServerError(w http.ResponseWriter, r *http.Request, err error) {
	h.log.ErrorContext(r.Context(), "web: passkey internal error", "path", r.URL.Path, "err", err)
	jsonError(w, http.StatusInternalServerError, "server_error", "Something went wrong on our side. Try again.")
}

func readFinish(w http.ResponseWriter, r *http.Request) (passkeyFinish, bool) {
	var f passkeyFinish
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPasskeyBody))
	if err != nil || json.Unmarshal(body, &f) != nil || f.Ticket == "" || len(f.Credential) == 0 {
		jsonError(w, http.StatusBadRequest, "invalid_request", "The passkey answer could not be read.")
		return f, false
	}
	return f, true
}

func beginAnswer(w http.ResponseWriter, options []byte, ticket string) {
	writeJSONResponse(w, http.StatusOK, struct {
		Options json.RawMessage `json:"options"`
		Ticket  string          `json:"ticket"`
	}{options, ticket})
}

// passkeyRefused answers a refused passkey (and a lock) for fetch.
func (h *Handler) passkeyRefused(w http.ResponseWriter, r *http.Request, err error) {
	var le *app.LockedError
	switch {
	case errors.As(err, &le):
		w.Header().Set("Retry-After", strconv.Itoa(throttle.RetryAfter(le.Until, h.now())))
		jsonError(w, http.StatusTooManyRequests, "locked", throttle.Message)
	case errors.Is(err, mfa.ErrPasskey):
		h.log.InfoContext(r.Context(), "web: passkey refused", "err", err)
		jsonError(w, http.StatusUnauthorized, "passkey_refused", "This passkey was not accepted. Try again.")
	case errors.Is(err, mfa.ErrNoFactor):
		jsonError(w, http.StatusNotFound, "no_passkey", "This account has no passkey.")
	default:
		h.jsonServerError(w, r, err)
	}
}

// scriptCSRF checks the csrf_token the passkey script sends in the
// X-CSRF-Token header against binding; on a mismatch it answers the
// script's JSON refusal and returns false.
func (h *Handler) scriptCSRF(w http.ResponseWriter, r *http.Request, binding string) bool {
	if h.sessions.CheckCSRF(r, binding, r.Header.Get("X-CSRF-Token")) {
		return true
	}
	jsonError(w, http.StatusForbidden, "csrf", "Reload the page and try again.")
	return false
}

// accountPasskeyUser is accountUser for the fetch endpoints of
// /account/security (CSRF from the header).
func (h *Handler) accountPasskeyUser(w http.ResponseWriter, r *http.Request) (storage.User, bool) {
	s, u, ok := h.accountUser(w, r)
	if !ok {
		return u, false
	}
	if !h.scriptCSRF(w, r, accountBinding(s)) {
		return u, false
	}
	return u, true
}

func (h *Handler) passkeyRegisterBegin(w http.ResponseWriter, r *http.Request) {
	u, ok := h.accountPasskeyUser(w, r)
	if !ok {
		return
	}
	opts, ticket, err := h.factors.BeginPasskeyRegistration(r.Context(), u)
	if err != nil {
		h.passkeyRefused(w, r, err)
		return
	}
	beginAnswer(w, opts, ticket)
}

func (h *Handler) passkeyRegisterFinish(w http.ResponseWriter, r *http.Request) {
	u, ok := h.accountPasskeyUser(w, r)
	if !ok {
		return
	}
	f, ok := readFinish(w, r)
	if !ok {
		return
	}
	if _, err := h.factors.RegisterPasskey(r.Context(), u, f.Ticket, f.Credential, f.Name, h.client(r)); err != nil {
		h.passkeyRefused(w, r, err)
		return
	}
	writeJSONResponse(w, http.StatusOK, map[string]string{"redirect": "/account/security?done=passkey"})
}

// passkeyRename is a plain form (works without JavaScript).
func (h *Handler) passkeyRename(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.securityUser(w, r)
	if !ok {
		return
	}
	if err := h.factors.RenamePasskey(r.Context(), u, r.PostFormValue("factor"), r.PostFormValue("name")); err != nil && !errors.Is(err, storage.ErrNotFound) {
		h.serverError(w, r, err)
		return
	}
	seeOther(w, r, "/account/security?done=renamed")
}

// passwordlessBegin starts "Sign in with a passkey" on the login page.
func (h *Handler) passwordlessBegin(w http.ResponseWriter, r *http.Request) {
	t, ok := h.loadLoginTarget(w, r)
	if !ok {
		return
	}
	if !h.scriptCSRF(w, r, t.binding()) {
		return
	}
	opts, ticket, err := h.factors.BeginPasskeyLogin(r.Context(), "")
	if err != nil {
		h.passkeyRefused(w, r, err)
		return
	}
	beginAnswer(w, opts, ticket)
}

func (h *Handler) passwordlessFinish(w http.ResponseWriter, r *http.Request) {
	t, ok := h.loadLoginTarget(w, r)
	if !ok {
		return
	}
	if !h.scriptCSRF(w, r, t.binding()) {
		return
	}
	f, ok := readFinish(w, r)
	if !ok {
		return
	}
	userID, amr, err := h.factors.PasskeySignIn(r.Context(), f.Ticket, f.Credential, h.client(r))
	if err != nil {
		h.passkeyRefused(w, r, err)
		return
	}
	u, err := h.store.GetUser(r.Context(), userID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && u.Disabled) {
		jsonError(w, http.StatusUnauthorized, "passkey_refused", "This passkey was not accepted. Try again.")
		return
	}
	if err != nil {
		h.jsonServerError(w, r, err)
		return
	}
	h.answerSession(w, r, t, u.ID, amr, false)
}

// answerSession starts the session and tells the script where to go.
func (h *Handler) answerSession(w http.ResponseWriter, r *http.Request, t loginTarget, userID string, amr []string, remember bool) {
	next, err := h.startSession(w, r, t, userID, amr, remember)
	switch {
	case errors.Is(err, errFlowGone):
		jsonError(w, http.StatusBadRequest, "invalid_flow", "This sign-in request has expired. Go back to the application.")
	case err != nil:
		h.jsonServerError(w, r, err)
	default:
		writeJSONResponse(w, http.StatusOK, map[string]string{"redirect": next})
	}
}

// secondFactorPasskeyBegin: a passkey as the second factor (/login/mfa).
func (h *Handler) secondFactorPasskeyBegin(w http.ResponseWriter, r *http.Request) {
	st, ok := h.loadSecondStep(w, r)
	if !ok {
		return
	}
	if !h.scriptCSRF(w, r, st.binding()) {
		return
	}
	opts, ticket, err := h.factors.BeginPasskeyLogin(r.Context(), st.user.ID)
	if err != nil {
		h.passkeyRefused(w, r, err)
		return
	}
	beginAnswer(w, opts, ticket)
}

func (h *Handler) secondFactorPasskeyFinish(w http.ResponseWriter, r *http.Request) {
	st, ok := h.loadSecondStep(w, r)
	if !ok {
		return
	}
	if !h.scriptCSRF(w, r, st.binding()) {
		return
	}
	f, ok := readFinish(w, r)
	if !ok {
		return
	}
	method, err := h.factors.VerifyPasskey(r.Context(), st.user.ID, f.Ticket, f.Credential, h.client(r))
	if err != nil {
		h.passkeyRefused(w, r, err)
		return
	}
	h.answerSession(w, r, st.t, st.user.ID, app.WithFactor(st.amr, method), st.remember)
}

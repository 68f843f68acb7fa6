package web

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/mfa"
	"github.com/sesameauth/sesame/internal/session"
	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/web/ui"
)

// The second step of a sign-in (SPEC part two). After the password, a
// user with a second factor — or any user when the request needs two
// factors — is not signed in yet: the browser gets a sealed, short-lived
// ticket (pendingLogin) naming the user, the flow and the factors checked
// so far, and is sent to /login/mfa (a code) or, without a factor to ask
// for, /login/mfa/enrol (set one up now). Only when the second factor
// is checked does a login session exist. A step-up (session.FlowStepUp:
// signed in with one factor, the request needs two) needs no ticket: the
// browser's session is the first factor, and only the second is asked.

const (
	pendingCookie       = "sesame_mfa"
	securePendingCookie = "__Host-sesame_mfa"
	ticketPendingLogin  = "pending-login"
	// pendingLifetime is how long the second step may take.
	pendingLifetime = 10 * time.Minute
)

// pendingLogin is the ticket of a sign-in waiting for its second factor.
type pendingLogin struct {
	UserID   string   `json:"uid"`
	Flow     string   `json:"flow,omitempty"` // flow handle, "" for /account
	Next     string   `json:"next,omitempty"` // local page after a login without flow
	AMR      []string `json:"amr"`
	Remember bool     `json:"rem,omitempty"`
}

// secondStep is one sign-in on the second-factor pages: who, for which
// flow, with what already checked.
type secondStep struct {
	t        loginTarget
	user     storage.User
	amr      []string
	stepUp   bool // an existing session is upgraded (no ticket)
	remember bool
}

func (s secondStep) binding() string { return "mfa:" + s.t.handle + ":" + s.user.ID }

func (s secondStep) action(path string) string {
	if s.t.handle == "" {
		return path
	}
	return path + "?flow=" + url.QueryEscape(s.t.handle)
}

func (h *Handler) pendingCookieName() string {
	if h.sessions.Secure() {
		return securePendingCookie
	}
	return pendingCookie
}

func (h *Handler) setPending(w http.ResponseWriter, p pendingLogin) error {
	tok, err := h.factors.MFA().SealTicket(ticketPendingLogin, p, pendingLifetime)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: h.pendingCookieName(), Value: tok, Path: "/", MaxAge: int(pendingLifetime.Seconds()),
		Secure: h.sessions.Secure(), HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	return nil
}

func (h *Handler) clearPending(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: h.pendingCookieName(), Value: "", Path: "/", MaxAge: -1,
		Secure: h.sessions.Secure(), HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

// needsSecondStep decides, after the password, whether the sign-in goes
// on to a second factor (hasFactor: to /login/mfa, else to enrolment).
func (h *Handler) needsSecondStep(r *http.Request, t loginTarget, userID string) (need, hasFactor bool, err error) {
	if h.factors == nil {
		return false, false, nil
	}
	hasFactor, err = h.factors.HasFactor(r.Context(), userID)
	if err != nil {
		return false, false, err
	}
	return hasFactor || h.factors.Policy.Required || t.req.MFA, hasFactor, nil
}

// startSecondStep hands the browser its ticket and sends it on.
func (h *Handler) startSecondStep(w http.ResponseWriter, r *http.Request, t loginTarget, userID string, amr []string, remember, hasFactor bool) {
	if err := h.setPending(w, pendingLogin{UserID: userID, Flow: t.handle, Next: t.next, AMR: amr, Remember: remember}); err != nil {
		h.serverError(w, r, err)
		return
	}
	page := "/login/mfa"
	if !hasFactor {
		page = "/login/mfa/enrol"
	}
	seeOther(w, r, secondStep{t: t}.action(page))
}

// loadSecondStep finds the sign-in a second-factor page is for: the
// ticket of this browser for this flow, or a step-up of this browser's
// own session. ok=false means a response was written.
func (h *Handler) loadSecondStep(w http.ResponseWriter, r *http.Request) (secondStep, bool) {
	if h.factors == nil {
		seeOther(w, r, "/login")
		return secondStep{}, false
	}
	handle := r.URL.Query().Get("flow")
	var st secondStep
	if handle != "" {
		f, req, err := session.LoadFlow(r.Context(), h.store, handle, h.now())
		if errors.Is(err, session.ErrFlowNotFound) {
			flowExpired(w)
			return secondStep{}, false
		}
		if err != nil {
			h.serverError(w, r, err)
			return secondStep{}, false
		}
		switch f.State {
		case session.FlowLogin, session.FlowStepUp:
		case session.FlowAuthenticated:
			seeOther(w, r, authorizeURL(handle))
			return secondStep{}, false
		default:
			flowExpired(w)
			return secondStep{}, false
		}
		st.t = loginTarget{handle: handle, flow: f, req: req}
		if c, err := h.store.GetClient(r.Context(), f.ClientID); err == nil {
			st.t.client = c.Name
			if st.t.client == "" {
				st.t.client = c.ID
			}
		}
	}
	userID := ""
	var p pendingLogin
	if c, err := r.Cookie(h.pendingCookieName()); err == nil &&
		h.factors.MFA().OpenTicket(ticketPendingLogin, c.Value, &p) == nil && p.Flow == handle {
		userID, st.amr, st.remember = p.UserID, p.AMR, p.Remember
		st.t.next = loginNext(p.Next)
	} else if handle != "" && st.t.flow.State == session.FlowStepUp {
		ls, err := h.sessions.Current(r.Context(), r)
		if err != nil && !errors.Is(err, session.ErrNoSession) {
			h.serverError(w, r, err)
			return secondStep{}, false
		}
		if err == nil && ls.ID == st.t.flow.SessionID && ls.UserID == st.t.flow.UserID {
			userID, st.amr, st.stepUp = ls.UserID, ls.AMR, true
		}
	}
	if userID == "" {
		// No sign-in in progress here (expired ticket, another browser):
		// start again with the password.
		seeOther(w, r, st.action("/login"))
		return secondStep{}, false
	}
	u, err := h.store.GetUser(r.Context(), userID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && u.Disabled) {
		h.clearPending(w)
		seeOther(w, r, st.action("/login"))
		return secondStep{}, false
	}
	if err != nil {
		h.serverError(w, r, err)
		return secondStep{}, false
	}
	st.user = u
	return st, true
}

type mfaData struct {
	Action, CSRF, Error, ClientName string
	Passkey                         *passkeyButton // the user has a passkey
}

// flowPath is path with the target's ?flow= (none without a flow).
func flowPath(path string, t loginTarget) string { return secondStep{t: t}.action(path) }

func (h *Handler) mfaPage(w http.ResponseWriter, r *http.Request) {
	st, ok := h.loadSecondStep(w, r)
	if !ok {
		return
	}
	has, err := h.factors.HasFactor(r.Context(), st.user.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if !has {
		seeOther(w, r, st.action("/login/mfa/enrol"))
		return
	}
	h.renderMFA(w, r, http.StatusOK, st, "")
}

func (h *Handler) renderMFA(w http.ResponseWriter, r *http.Request, status int, st secondStep, msg string) {
	csrf, err := h.sessions.CSRFToken(w, r, st.binding())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	d := mfaData{Action: st.action("/login/mfa"), CSRF: csrf, Error: msg, ClientName: st.t.client}
	if h.factors.MFA().PasskeysEnabled() {
		fs, err := h.factors.Confirmed(r.Context(), st.user.ID)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		for _, f := range fs {
			if f.Kind == storage.FactorWebAuthn {
				d.Passkey = &passkeyButton{Begin: st.action("/login/mfa/passkey/begin"), Finish: st.action("/login/mfa/passkey/finish")}
				break
			}
		}
	}
	ui.Render(w, status, "mfa", "mfa.heading", d)
}

func (h *Handler) mfaSubmit(w http.ResponseWriter, r *http.Request) {
	st, ok := h.loadSecondStep(w, r)
	if !ok {
		return
	}
	if !h.sessions.CheckCSRF(r, st.binding(), r.PostFormValue("csrf_token")) {
		forbidden(w)
		return
	}
	method, err := h.factors.VerifyCode(r.Context(), app.CodeAttempt{
		UserID: st.user.ID, Code: r.PostFormValue("code"), Client: h.client(r),
	})
	var le *app.LockedError
	switch {
	case errors.As(err, &le):
		w.Header().Set("Retry-After", strconv.Itoa(throttle.RetryAfter(le.Until, h.now())))
		h.renderMFA(w, r, http.StatusTooManyRequests, st, throttle.Message)
		return
	case errors.Is(err, mfa.ErrCodeUsed):
		h.renderMFA(w, r, http.StatusUnauthorized, st, "mfa.used")
		return
	case errors.Is(err, app.ErrInvalidCode):
		h.renderMFA(w, r, http.StatusUnauthorized, st, "mfa.wrong")
		return
	case err != nil:
		h.serverError(w, r, err)
		return
	}
	h.completeLogin(w, r, st.t, st.user.ID, app.WithFactor(st.amr, method), st.remember)
}

type totpData struct {
	Action, CSRF, Error, FactorID, Secret, URI, Cancel string
	// QR and Link are our own data: and otpauth: URLs, which
	// html/template would otherwise replace as unsafe schemes.
	QR, Link template.URL
	Required bool
}

func totpView(e mfa.TOTPEnrolment) totpData {
	// The QR code is our own PNG as a data: URI (CSP img-src allows
	// data:); html/template would refuse it as an untyped URL.
	return totpData{FactorID: e.FactorID, Secret: e.Secret, URI: e.URI,
		QR: template.URL(e.QR), Link: template.URL(e.URI)} // #nosec G203 -- built by mfa, never from input
}

// enrolPage is /login/mfa/enrol: a user without a second factor whose
// sign-in needs one sets up an authenticator app before going on.
func (h *Handler) enrolPage(w http.ResponseWriter, r *http.Request) {
	st, ok := h.loadSecondStep(w, r)
	if !ok {
		return
	}
	has, err := h.factors.HasFactor(r.Context(), st.user.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if has {
		// Someone with the password cannot replace an existing factor
		// by enrolling another: the second step asks for the one there.
		seeOther(w, r, st.action("/login/mfa"))
		return
	}
	e, err := h.factors.BeginTOTP(r.Context(), st.user)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.renderEnrol(w, r, http.StatusOK, st, totpView(e), "")
}

func (h *Handler) renderEnrol(w http.ResponseWriter, r *http.Request, status int, st secondStep, d totpData, msg string) {
	csrf, err := h.sessions.CSRFToken(w, r, st.binding())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	d.Action, d.CSRF, d.Error, d.Required = st.action("/login/mfa/enrol"), csrf, msg, true
	ui.Render(w, status, "totp", "totp.heading", d)
}

func (h *Handler) enrolSubmit(w http.ResponseWriter, r *http.Request) {
	st, ok := h.loadSecondStep(w, r)
	if !ok {
		return
	}
	if !h.sessions.CheckCSRF(r, st.binding(), r.PostFormValue("csrf_token")) {
		forbidden(w)
		return
	}
	has, err := h.factors.HasFactor(r.Context(), st.user.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if has {
		seeOther(w, r, st.action("/login/mfa"))
		return
	}
	factorID := r.PostFormValue("factor")
	err = h.factors.ConfirmTOTP(r.Context(), st.user, factorID, r.PostFormValue("code"), h.client(r))
	if errors.Is(err, app.ErrInvalidCode) {
		e, perr := h.factors.PendingTOTP(r.Context(), st.user, factorID)
		if perr != nil {
			// The enrolment is gone (another tab started a new one).
			seeOther(w, r, st.action("/login/mfa/enrol"))
			return
		}
		h.renderEnrol(w, r, http.StatusUnauthorized, st, totpView(e), "totp.wrong")
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.completeLogin(w, r, st.t, st.user.ID, app.WithFactor(st.amr, app.AMROTP), st.remember)
}

// completeLogin starts the login session (a new id: the step-up case
// replaces the one-factor session, so nothing planted before survives)
// and hands the flow back to the authorization endpoint.
func (h *Handler) completeLogin(w http.ResponseWriter, r *http.Request, t loginTarget, userID string, amr []string, remember bool) {
	next, err := h.startSession(w, r, t, userID, amr, remember)
	switch {
	case errors.Is(err, errFlowGone):
		flowExpired(w)
	case err != nil:
		h.serverError(w, r, err)
	default:
		seeOther(w, r, next)
	}
}

// errFlowGone: the flow was finished or replaced meanwhile.
var errFlowGone = errors.New("web: flow already used")

// startSession is completeLogin without the answer: it returns where the
// browser goes next (the passkey endpoints answer JSON with it).
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, t loginTarget, userID string, amr []string, remember bool) (string, error) {
	s, err := h.sessions.Login(r.Context(), w, r, userID, amr, remember)
	if err != nil {
		return "", err
	}
	h.clearPending(w)
	h.log.InfoContext(r.Context(), "web: login", "user_id", userID, "amr", amr)
	h.audit(r.Context(), r, auditLogin, userID, t.flow.ClientID, outcomeSuccess)
	if t.handle == "" && t.next != "" {
		return t.next, nil
	}
	if t.handle == "" {
		return "/account", nil
	}
	next := t.flow
	next.UserID, next.SessionID, next.State = userID, s.ID, session.FlowAuthenticated
	if err := h.store.UpdateFlowState(r.Context(), next, t.flow.State); err != nil {
		if errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) {
			return "", errFlowGone
		}
		return "", err
	}
	return authorizeURL(t.handle), nil
}

// client is the caller's address and user agent for the audit trail and
// the guard's per-IP counter.
func (h *Handler) client(r *http.Request) app.Client {
	return app.Client{IP: clientIP(r), UserAgent: r.UserAgent()}
}

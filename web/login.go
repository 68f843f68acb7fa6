package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/session"
	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/web/ui"
)

// msgUnverified is the login error of a right password for an account
// whose email is not confirmed yet.
const msgUnverified = "login.unverified"

type loginData struct {
	Action     string
	CSRF       string
	Username   string
	Error      string
	ClientName string
	Remember   bool
	// Upstreams are the "Continue with NAME" buttons; Directory names
	// the LDAP upstream whose form this is ("" on the local form).
	Upstreams []upstreamButton
	Directory string
	// Passkey is "Sign in with a passkey" (nil: passkeys off).
	Passkey *passkeyButton
	// Signup is the "Create account" link ("" when sign-up is not open);
	// Resend the "send a new confirmation link" one, shown with the error
	// of a sign-in refused for an unverified email.
	Signup, Resend string
	// Forgot is the "Forgot password?" link ("" when mail is off).
	Forgot string
}

// passkeyButton is where a passkey button's script starts and finishes
// its ceremony.
type passkeyButton struct{ Begin, Finish string }

type upstreamButton struct{ Name, URL string }

// loginTarget is what a login page is for: an authorization flow, or
// (without one) the account page.
type loginTarget struct {
	handle string
	flow   storage.AuthFlow
	req    session.FlowRequest
	client string
	// next is the local page a login without a flow returns to
	// (loginNext: the device page), "" for the account page.
	next string
}

func (t loginTarget) action() string {
	if t.handle == "" && t.next != "" {
		return session.PathLogin + "?next=" + url.QueryEscape(t.next)
	}
	if t.handle == "" {
		return session.PathLogin
	}
	return session.LoginURL(t.handle)
}

func (t loginTarget) binding() string { return "login:" + t.handle }

// loadLoginTarget resolves ?flow=. ok=false means a response was written.
func (h *Handler) loadLoginTarget(w http.ResponseWriter, r *http.Request) (loginTarget, bool) {
	handle := r.URL.Query().Get(session.FlowParam)
	if handle == "" {
		return loginTarget{next: loginNext(r.URL.Query().Get("next"))}, true
	}
	f, req, err := session.LoadFlow(r.Context(), h.store, handle, h.now())
	if errors.Is(err, session.ErrFlowNotFound) {
		flowExpired(w)
		return loginTarget{}, false
	}
	if err != nil {
		h.serverError(w, r, err)
		return loginTarget{}, false
	}
	switch f.State {
	case session.FlowLogin:
	case session.FlowAuthenticated:
		// Already signed in for this flow (back button, double submit):
		// let the authorization endpoint carry on.
		seeOther(w, r, authorizeURL(handle))
		return loginTarget{}, false
	case session.FlowStepUp:
		// Signed in already; only the second factor is missing.
		seeOther(w, r, session.FlowURL(session.PathLoginMFA, handle))
		return loginTarget{}, false
	default:
		flowExpired(w)
		return loginTarget{}, false
	}
	t := loginTarget{handle: handle, flow: f, req: req}
	if c, err := h.store.GetClient(r.Context(), f.ClientID); err == nil {
		t.client = c.Name
		if t.client == "" {
			t.client = c.ID
		}
	}
	return t, true
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	t, ok := h.loadLoginTarget(w, r)
	if !ok {
		return
	}
	h.renderLogin(w, r, http.StatusOK, t, t.req.LoginHint, "")
}

func (h *Handler) renderLogin(w http.ResponseWriter, r *http.Request, status int, t loginTarget, username, msg string) {
	csrf, err := h.sessions.CSRFToken(w, r, t.binding())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	var buttons []upstreamButton
	for _, u := range h.upstreams {
		buttons = append(buttons, upstreamButton{Name: u.Provider.Name(), URL: h.upstreamAction(t, u.Provider.ID())})
	}
	d := loginData{
		Action: t.action(), CSRF: csrf, Username: username, Error: msg, ClientName: t.client, Upstreams: buttons,
		Signup: h.signupLink(), Forgot: h.forgotLink(),
	}
	if msg == msgUnverified {
		d.Resend = app.PathResendVerification
	}
	if h.factors != nil && h.factors.MFA().PasskeysEnabled() {
		d.Passkey = &passkeyButton{Begin: flowPath("/login/passkey/begin", t), Finish: flowPath("/login/passkey/finish", t)}
	}
	ui.Render(w, status, "login", "Sign in", d)
}

func (h *Handler) loginSubmit(w http.ResponseWriter, r *http.Request) {
	t, ok := h.loadLoginTarget(w, r)
	if !ok {
		return
	}
	if !h.sessions.CheckCSRF(r, t.binding(), r.PostFormValue("csrf_token")) {
		forbidden(w)
		return
	}
	username := r.PostFormValue("username")
	u, err := h.checkPassword(w, r, username, r.PostFormValue("password"), false)
	if errors.Is(err, errLocked) {
		h.renderLogin(w, r, http.StatusTooManyRequests, t, username, throttle.Message)
		return
	}
	if errors.Is(err, errBadCredentials) {
		h.renderLogin(w, r, http.StatusUnauthorized, t, username, "Incorrect username or password.")
		return
	}
	if errors.Is(err, app.ErrEmailUnverified) {
		// SESAME_REQUIRE_VERIFIED_EMAIL, told only after the right
		// password (app.Passwords).
		h.renderLogin(w, r, http.StatusForbidden, t, username, msgUnverified)
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	// "Keep me signed in" chooses a persistent cookie; without it the
	// browser forgets the session when it closes (issue 13 item 20).
	remember := r.PostFormValue("remember") != ""
	amr := []string{app.AMRPassword}
	need, hasFactor, err := h.needsSecondStep(r, t, u.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if need {
		h.startSecondStep(w, r, t, u.ID, amr, remember, hasFactor)
		return
	}
	h.completeLogin(w, r, t, u.ID, amr, remember)
}

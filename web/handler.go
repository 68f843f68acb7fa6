package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/password"
	"github.com/sesameauth/sesame/internal/session"
	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/web/ui"
)

// Deps are the dependencies of the web UI.
type Deps struct {
	Store    Store
	Sessions *session.Manager
	// Issuer is the server's issuer URL (used by the demo app and to
	// decide cookie security through Sessions).
	Issuer string
	Logger *slog.Logger
	// PasswordParams are the argon2id parameters for new hashes and for
	// the dummy verification of unknown users (zero → DefaultParams).
	PasswordParams password.Params
	// App runs the account use cases (password change, revoking an
	// app's access) with the one password policy and revocation.
	App *app.Service
	// Passwords is the one password check (internal/app). Nil: one is
	// built from Store, Throttle, PasswordParams and Logger.
	Passwords *app.Passwords
	// Throttle locks accounts and addresses after repeated failed
	// sign-ins (nil → no brute-force protection on the login form); only
	// used to build Passwords.
	Throttle *throttle.Guard
	// Devices serves the device verification page (RFC 8628); nil: no
	// /device page.
	Devices *app.Devices
	// ScopeDescriptions are the consent-page words for custom scopes
	// (SESAME_SCOPE_DESCRIPTIONS: scope → what it lets an app do).
	ScopeDescriptions map[string]string
	// Upstreams are the other providers people may sign in through, in
	// the order of the login page's buttons.
	Upstreams []Upstream
	// Factors checks and enrols second factors (internal/app). Nil: no
	// second factors — the sign-in is the password alone and
	// /account/security is not served.
	Factors *app.Factors
	// EmailLinkLifetime is how long an email-change link works
	// (SESAME_EMAIL_LINK_LIFETIME verify=; zero → 24h).
	EmailLinkLifetime time.Duration
	// MailOff: no way to deliver mail (no SMTP server on a public
	// issuer); the profile form then refuses an email change, whose link
	// could never arrive, and says why.
	MailOff bool
}

// Handler serves the web UI.
type Handler struct {
	store     Store
	sessions  *session.Manager
	issuer    string
	log       *slog.Logger
	params    password.Params
	cop       *http.CrossOriginProtection
	passwords *app.Passwords
	app       *app.Service
	scopes    scopeText
	devices   *app.Devices
	upstreams []Upstream
	factors   *app.Factors

	emailLinkLifetime time.Duration
	mailOff           bool
}

// New checks the dependencies and builds the handler.
func New(d Deps) (*Handler, error) {
	if d.Store == nil {
		return nil, errors.New("web: Store is required")
	}
	if d.Sessions == nil {
		return nil, errors.New("web: Sessions is required")
	}
	if d.App == nil {
		return nil, errors.New("web: App is required")
	}
	iss, err := url.Parse(d.Issuer)
	if err != nil || iss.Scheme == "" || iss.Host == "" {
		return nil, errors.New("web: Issuer must be an absolute URL")
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.PasswordParams == (password.Params{}) {
		d.PasswordParams = password.DefaultParams
	}
	h := &Handler{
		store:    d.Store,
		sessions: d.Sessions,
		issuer:   strings.TrimSuffix(d.Issuer, "/"),
		log:      d.Logger,
		params:   d.PasswordParams,
		cop:      http.NewCrossOriginProtection(),
		scopes:   scopeText(d.ScopeDescriptions),
	}
	h.app = d.App
	h.emailLinkLifetime, h.mailOff = d.EmailLinkLifetime, d.MailOff
	h.devices = d.Devices
	for _, u := range d.Upstreams {
		if u.Provider == nil {
			return nil, errors.New("web: an Upstream without Provider")
		}
	}
	h.upstreams = d.Upstreams
	h.factors = d.Factors
	h.passwords = d.Passwords
	if h.passwords == nil {
		h.passwords = app.NewPasswords(d.Store, d.Throttle, d.PasswordParams, d.Logger)
	}
	return h, nil
}

// Mount registers the UI routes.
func (h *Handler) Mount(r gin.IRouter) {
	r.GET(session.PathLogin, gin.WrapF(h.loginPage))
	r.POST(session.PathLogin, h.protect(h.loginSubmit))
	r.GET(session.PathConsent, gin.WrapF(h.consentPage))
	r.POST(session.PathConsent, h.protect(h.consentSubmit))
	r.GET("/account", gin.WrapF(h.accountPage))
	r.POST("/account/revoke", h.protect(h.accountRevoke))
	r.POST("/account/password", h.protect(h.accountPassword))
	r.POST("/account/logout", h.protect(h.accountLogout))
	r.POST("/account/logout-all", h.protect(h.accountLogoutAll))
	r.GET("/account/confirm", gin.WrapF(h.accountConfirm))
	r.POST("/account/profile", h.protect(h.accountProfile))
	r.POST("/account/sessions/revoke", h.protect(h.accountRevokeSession))
	r.GET(PathConfirmEmail, gin.WrapF(h.confirmEmail))
	// Sign-up and email verification (signup.go); /signup answers 404
	// itself while SESAME_SIGNUP is off.
	r.GET(app.PathSignup, gin.WrapF(h.signupPage))
	r.POST(app.PathSignup, h.protect(h.signupSubmit))
	r.GET(app.PathVerifyEmail, gin.WrapF(h.verifyEmail))
	r.GET(app.PathResendVerification, gin.WrapF(h.resendPage))
	r.POST(app.PathResendVerification, h.protect(h.resendSubmit))
	// Password reset by mail (reset.go).
	r.GET(app.PathForgotPassword, gin.WrapF(h.forgotPage))
	r.POST(app.PathForgotPassword, h.protect(h.forgotSubmit))
	r.GET(app.PathResetPassword, gin.WrapF(h.resetPage))
	r.POST(app.PathResetPassword, h.protect(h.resetSubmit))
	if h.devices != nil {
		r.GET(pathDevice, gin.WrapF(h.devicePage))
		r.POST(pathDevice, h.protect(h.deviceSubmit))
	}
	if h.factors != nil {
		r.GET("/login/mfa", gin.WrapF(h.mfaPage))
		r.POST("/login/mfa", h.protect(h.mfaSubmit))
		r.GET("/login/mfa/enrol", gin.WrapF(h.enrolPage))
		r.POST("/login/mfa/enrol", h.protect(h.enrolSubmit))
		r.GET("/account/security", gin.WrapF(h.securityPage))
		r.POST("/account/security/totp", h.protect(h.securityTOTP))
		r.POST("/account/security/totp/confirm", h.protect(h.securityTOTPConfirm))
		r.POST("/account/security/remove", h.protect(h.securityRemove))
		r.POST("/account/security/recovery", h.protect(h.securityRecovery))
		if h.factors.MFA().PasskeysEnabled() {
			r.POST("/account/security/passkeys/begin", h.protect(h.passkeyRegisterBegin))
			r.POST("/account/security/passkeys/finish", h.protect(h.passkeyRegisterFinish))
			r.POST("/account/security/passkeys/rename", h.protect(h.passkeyRename))
			r.POST("/login/passkey/begin", h.protect(h.passwordlessBegin))
			r.POST("/login/passkey/finish", h.protect(h.passwordlessFinish))
			r.POST("/login/mfa/passkey/begin", h.protect(h.secondFactorPasskeyBegin))
			r.POST("/login/mfa/passkey/finish", h.protect(h.secondFactorPasskeyFinish))
		}
	}
	r.GET("/signed-out", gin.WrapF(func(w http.ResponseWriter, _ *http.Request) { ui.SignedOut(w) }))
	static := gin.WrapH(ui.Static())
	r.GET("/static/*filepath", static)
	r.HEAD("/static/*filepath", static)
	// Browsers ask for /favicon.ico on their own; the SVG icon serves.
	favicon := gin.WrapH(ui.Favicon())
	r.GET("/favicon.ico", favicon)
	r.HEAD("/favicon.ico", favicon)
	h.mountUpstreams(r)
}

// protect refuses cross-origin form posts (Sec-Fetch-Site / Origin checks
// of net/http's CrossOriginProtection) before the handler runs; the
// handler then checks its own csrf_token.
func (h *Handler) protect(fn http.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h.cop.Check(c.Request); err != nil {
			forbidden(c.Writer)
			return
		}
		fn(c.Writer, c.Request)
	}
}

func forbidden(w http.ResponseWriter) {
	ui.Error(w, http.StatusForbidden, "Request refused",
		"This form was not sent from this site or has expired. Reload the page and try again.", "csrf")
}

func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, err error) {
	ref := ui.Error(w, http.StatusInternalServerError, "error.server.heading", "error.internal.advice", "server_error")
	h.log.ErrorContext(r.Context(), "web: internal error", "ref", ref, "path", r.URL.Path, "err", err)
}

func flowExpired(w http.ResponseWriter) {
	ui.Error(w, http.StatusBadRequest, "This sign-in request has expired",
		"Go back to the application and start signing in again.", "invalid_flow")
}

// seeOther redirects with 303 so the browser follows with a GET after a
// form POST (307 would replay the POST, credentials included).
func seeOther(w http.ResponseWriter, r *http.Request, location string) {
	ui.SetHeaders(w)
	http.Redirect(w, r, location, http.StatusSeeOther)
}

// authorizeURL is where a finished login or consent goes back to.
func authorizeURL(handle string) string { return session.ResumeURL(handle) }

func (h *Handler) now() time.Time { return h.sessions.Now() }

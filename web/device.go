package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/httpx"
	"github.com/sesameauth/sesame/internal/session"
	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/web/ui"
)

// The device verification page (RFC 8628 §3.3): the person types the
// user code their device shows (or arrives with it in
// verification_uri_complete, which only fills the field in: §5.4, a code
// is never acted on without the person pressing a button), signs in if
// needed, then allows or denies on a consent page that shows the code
// again. Lookups and decisions go through internal/app.Devices, the one
// owner of user codes and of the guard that bounds wrong guesses; the
// polling device learns the decision from the store (package oauth).

// pathDevice is the page; oauth.PathDeviceVerification names it too.
const pathDevice = "/device"

type deviceData struct {
	Action   string
	CSRF     string
	UserCode string
	Error    string
	// The consent step.
	Confirm    bool
	ClientName string
	LogoURI    string
	Initial    string
	Unverified bool
	Username   string
	Scopes     []scopeInfo
	// Done is "approved" or "denied" once the person decided.
	Done string
}

const deviceBinding = "device"

// devicePage is GET /device[?user_code=…].
func (h *Handler) devicePage(w http.ResponseWriter, r *http.Request) {
	code, _ := app.NormalizeUserCode(r.URL.Query().Get("user_code"))
	h.renderDevice(w, r, http.StatusOK, deviceData{UserCode: code})
}

func (h *Handler) renderDevice(w http.ResponseWriter, r *http.Request, status int, d deviceData) {
	csrf, err := h.sessions.CSRFToken(w, r, deviceBinding)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	d.Action, d.CSRF = pathDevice, csrf
	ui.Render(w, status, "device", "Connect a device", d)
}

// deviceSubmit is POST /device: without decision it checks the code and
// shows the consent step (after sign-in); with decision=allow|deny it
// records the decision.
func (h *Handler) deviceSubmit(w http.ResponseWriter, r *http.Request) {
	if !h.sessions.CheckCSRF(r, deviceBinding, r.PostFormValue("csrf_token")) {
		forbidden(w)
		return
	}
	typed := r.PostFormValue("user_code")
	ip := httpx.RequestIP(r)
	req, err := h.devices.Find(r.Context(), typed, ip, r.UserAgent())
	var locked *app.ErrUserCodeLocked
	switch {
	case errors.As(err, &locked):
		w.Header().Set("Retry-After", strconv.Itoa(throttle.RetryAfter(locked.LockedUntil, h.now())))
		h.renderDevice(w, r, http.StatusTooManyRequests, deviceData{UserCode: typed, Error: throttle.Message})
		return
	case errors.Is(err, app.ErrUnknownUserCode):
		h.renderDevice(w, r, http.StatusBadRequest, deviceData{UserCode: typed, Error: "device.bad_code"})
		return
	case err != nil:
		h.serverError(w, r, err)
		return
	}
	ls, err := h.sessions.Current(r.Context(), r)
	if errors.Is(err, session.ErrNoSession) {
		// Sign in first, then back to the code (filled in, so one more
		// press shows the consent step).
		seeOther(w, r, "/login?next="+url.QueryEscape(deviceNext(req.UserCode)))
		return
	} else if err != nil {
		h.serverError(w, r, err)
		return
	}
	u, err := h.store.GetUser(r.Context(), ls.UserID)
	if err != nil || u.Disabled {
		seeOther(w, r, "/login?next="+url.QueryEscape(deviceNext(req.UserCode)))
		return
	}
	decision := r.PostFormValue("decision")
	if decision == "" {
		name := req.Client.Name
		if name == "" {
			name = req.Client.ID
		}
		h.renderDevice(w, r, http.StatusOK, deviceData{
			Confirm: true, UserCode: req.UserCode, ClientName: name, LogoURI: safeURL(req.Client.LogoURI),
			Initial: initial(name), Unverified: req.Client.RegistrationTokenHash != "" || req.Client.FromMetadataDocument(),
			Username: u.Username, Scopes: h.scopes.describeAll(req.Scopes),
		})
		return
	}
	if decision != "allow" && decision != "deny" {
		ui.Error(w, http.StatusBadRequest, "Choose Allow or Deny",
			"Go back and choose whether to allow access.", "invalid_request")
		return
	}
	err = h.devices.Decide(r.Context(), req.UserCode, u.ID, ls.ID, decision == "allow", ip, r.UserAgent())
	if errors.Is(err, app.ErrUnknownUserCode) {
		// Decided meanwhile (another tab) or expired.
		h.renderDevice(w, r, http.StatusBadRequest, deviceData{Error: "device.bad_code"})
		return
	} else if err != nil {
		h.serverError(w, r, err)
		return
	}
	done := "denied"
	if decision == "allow" {
		done = "approved"
	}
	h.log.InfoContext(r.Context(), "web: device request decided", "user_id", u.ID, "client_id", req.Client.ID, "decision", done)
	ui.Render(w, http.StatusOK, "device", "Connect a device", deviceData{Done: done})
}

// deviceNext is where the login page returns to for a user code.
func deviceNext(code string) string { return pathDevice + "?user_code=" + url.QueryEscape(code) }

// loginNext returns the local page a login without a flow goes back to:
// only the device page, rebuilt from its parsed user code, so ?next=
// cannot send anyone elsewhere.
func loginNext(raw string) string {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || u.Path != pathDevice || u.Host != "" || u.Scheme != "" {
		return ""
	}
	if code, ok := app.NormalizeUserCode(u.Query().Get("user_code")); ok {
		return deviceNext(code)
	}
	return pathDevice
}

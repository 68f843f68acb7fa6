package web

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/internal/upstream"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/web/ui"
)

// Upstream is a provider people may sign in through, with its account
// rules (SPEC part two "Sign-in through other providers").
type Upstream struct {
	Provider upstream.Upstream
	Policy   app.FederationPolicy
}

// upstreamAttemptTTL is how long a person has at the upstream.
const upstreamAttemptTTL = 10 * time.Minute

// nonceUpstreamState is the nonce-store namespace in which a callback's
// state is claimed once: a replayed callback URL finds it taken.
const nonceUpstreamState = "upstream_state"

// upstreamAttempt is what the browser keeps between the start and the
// callback, in an HttpOnly cookie scoped to /login/upstream/. It holds
// nothing a stranger could use: state, nonce and verifier are this
// attempt's own, and the flow handle is the one the browser already
// carries in its URL.
type upstreamAttempt struct {
	Upstream string `json:"u"`
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Flow     string `json:"f,omitempty"`
	Link     bool   `json:"l,omitempty"` // linking from /account, not signing in
	Expires  int64  `json:"e"`
}

const upstreamCookiePath = "/login/upstream/"

func (h *Handler) upstreamCookieName() string {
	if h.sessions.Secure() {
		return "__Secure-sesame_upstream"
	}
	return "sesame_upstream"
}

func (h *Handler) mountUpstreams(r gin.IRouter) {
	r.GET("/login/upstream/:id", func(c *gin.Context) { h.upstreamStart(c.Writer, c.Request, c.Param("id")) })
	r.POST("/login/upstream/:id", func(c *gin.Context) {
		if err := h.cop.Check(c.Request); err != nil {
			forbidden(c.Writer)
			return
		}
		h.upstreamPasswordSubmit(c.Writer, c.Request, c.Param("id"))
	})
	r.GET("/login/upstream/:id/callback", func(c *gin.Context) { h.upstreamCallback(c.Writer, c.Request, c.Param("id")) })
	r.POST("/account/identities/unlink", h.protect(h.accountUnlink))
}

func (h *Handler) upstream(id string) (Upstream, bool) {
	for _, u := range h.upstreams {
		if u.Provider.ID() == id {
			return u, true
		}
	}
	return Upstream{}, false
}

func unknownUpstream(w http.ResponseWriter) {
	ui.Error(w, http.StatusNotFound, "This sign-in provider is not known here",
		"The link names a provider this service is not configured for. Go back and choose another way to sign in.", "unknown_upstream")
}

// upstreamFailed shows a page for an upstream sign-in that did not work
// and logs why (never on the page: it may name internals).
func (h *Handler) upstreamFailed(w http.ResponseWriter, r *http.Request, up Upstream, err error) {
	name := up.Provider.Name()
	var ref string
	switch {
	case errors.Is(err, upstream.ErrUnavailable):
		ref = ui.Error(w, http.StatusBadGateway, name+" cannot be reached right now",
			"Signing in with "+name+" is not possible at the moment. Wait a minute and try again, or choose another way to sign in.", "upstream_unavailable")
	case errors.Is(err, app.ErrEmailDomainNotAllowed):
		ref = ui.Error(w, http.StatusForbidden, "This account cannot sign in here",
			"Your "+name+" account's verified email address is not in a domain this service accepts.", "access_denied")
	case errors.Is(err, app.ErrAccountDisabled):
		ref = ui.Error(w, http.StatusForbidden, "This account is disabled",
			"Contact the people running this service.", "access_denied")
	case errors.Is(err, app.ErrIdentityLinked):
		ref = ui.Error(w, http.StatusConflict, "This "+name+" account is linked to someone else",
			"It already signs in another account here. Sign in with it to use that account.", "already_linked")
	case errors.Is(err, upstream.ErrRefused):
		ref = ui.Error(w, http.StatusBadRequest, "Signing in with "+name+" did not work",
			"The answer from "+name+" could not be accepted. Go back to the app and start signing in again.", "upstream_refused")
	default:
		h.serverError(w, r, err)
		return
	}
	h.log.WarnContext(r.Context(), "web: upstream sign-in failed", "upstream", up.Provider.ID(), "ref", ref, "err", err)
}

func attemptExpired(w http.ResponseWriter) {
	ui.Error(w, http.StatusBadRequest, "This sign-in was not started here or has expired",
		"Go back to the app and start signing in again.", "invalid_request")
}

// upstreamStart begins a sign-in: GET /login/upstream/{id}?flow=… (from
// the login page or idp_hint), or ?link=1 from /account.
func (h *Handler) upstreamStart(w http.ResponseWriter, r *http.Request, id string) {
	up, ok := h.upstream(id)
	if !ok {
		unknownUpstream(w)
		return
	}
	t, ok := h.loadLoginTarget(w, r)
	if !ok {
		return
	}
	link := r.URL.Query().Get("link") == "1"
	if link {
		if _, _, ok := h.accountUser(w, r); !ok {
			return
		}
		t = loginTarget{}
	}
	if pw, ok := up.Provider.(upstream.Password); ok {
		if link {
			attemptExpired(w) // a directory account is linked by signing in with it
			return
		}
		h.renderUpstreamPassword(w, r, http.StatusOK, t, pw, "", "")
		return
	}
	rd, ok := up.Provider.(upstream.Redirect)
	if !ok {
		unknownUpstream(w)
		return
	}
	a := upstreamAttempt{Upstream: id, Flow: t.handle, Link: link, Expires: h.now().Add(upstreamAttemptTTL).Unix()}
	var err error
	if a.State, err = secret.RandomToken(32); err == nil {
		if a.Nonce, err = secret.RandomToken(32); err == nil {
			a.Verifier, err = secret.RandomToken(32) // 43 characters, RFC 7636 §4.1
		}
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	dest, err := rd.AuthURL(r.Context(), h.attempt(a))
	if err != nil {
		h.upstreamFailed(w, r, up, err)
		return
	}
	raw, _ := json.Marshal(a)
	http.SetCookie(w, &http.Cookie{Name: h.upstreamCookieName(), Value: base64.RawURLEncoding.EncodeToString(raw),
		Path: upstreamCookiePath, MaxAge: int(upstreamAttemptTTL.Seconds()), HttpOnly: true,
		Secure: h.sessions.Secure(), SameSite: http.SameSiteLaxMode})
	seeOther(w, r, dest)
}

func (h *Handler) attempt(a upstreamAttempt) upstream.Attempt {
	return upstream.Attempt{State: a.State, Nonce: a.Nonce, Verifier: a.Verifier,
		RedirectURI: h.issuer + "/login/upstream/" + url.PathEscape(a.Upstream) + "/callback"}
}

// readAttempt takes the attempt cookie (and clears it: one use).
func (h *Handler) readAttempt(w http.ResponseWriter, r *http.Request) (upstreamAttempt, bool) {
	c, err := r.Cookie(h.upstreamCookieName())
	http.SetCookie(w, &http.Cookie{Name: h.upstreamCookieName(), Value: "", Path: upstreamCookiePath, MaxAge: -1,
		HttpOnly: true, Secure: h.sessions.Secure(), SameSite: http.SameSiteLaxMode})
	if err != nil || len(c.Value) > 4096 {
		return upstreamAttempt{}, false
	}
	var a upstreamAttempt
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || json.Unmarshal(raw, &a) != nil || a.State == "" || a.Nonce == "" || a.Verifier == "" {
		return upstreamAttempt{}, false
	}
	if h.now().Unix() >= a.Expires {
		return upstreamAttempt{}, false
	}
	return a, true
}

// upstreamCallback finishes a redirect sign-in.
func (h *Handler) upstreamCallback(w http.ResponseWriter, r *http.Request, id string) {
	up, ok := h.upstream(id)
	if !ok {
		unknownUpstream(w)
		return
	}
	rd, ok := up.Provider.(upstream.Redirect)
	if !ok {
		unknownUpstream(w)
		return
	}
	a, ok := h.readAttempt(w, r)
	q := r.URL.Query()
	// RFC 6749 §10.12: the state binds the response to this browser's
	// request (login CSRF).
	if !ok || a.Upstream != id || !constantEqual(q.Get("state"), a.State) {
		h.log.InfoContext(r.Context(), "web: upstream callback without a matching attempt", "upstream", id, "cookie", ok)
		attemptExpired(w)
		return
	}
	// One use: the second arrival of the same callback (replay, double
	// click) finds the state claimed.
	err := h.store.ClaimNonce(r.Context(), nonceUpstreamState, secret.HashToken(a.State), time.Unix(a.Expires, 0))
	if errors.Is(err, storage.ErrConflict) {
		attemptExpired(w)
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if e := q.Get("error"); e != "" {
		ref := ui.Error(w, http.StatusForbidden, up.Provider.Name()+" did not sign you in",
			"Go back to the app and start signing in again, or choose another way to sign in.", "access_denied")
		h.log.InfoContext(r.Context(), "web: upstream answered an error", "upstream", id, "ref", ref,
			"error", trimLog(e), "error_description", trimLog(q.Get("error_description")))
		return
	}
	ident, err := rd.Finish(r.Context(), h.attempt(a), q)
	if err != nil {
		h.upstreamFailed(w, r, up, err)
		return
	}
	var t loginTarget
	if a.Flow != "" {
		r2 := r.Clone(r.Context())
		r2.URL.RawQuery = url.Values{"flow": {a.Flow}}.Encode()
		if t, ok = h.loadLoginTarget(w, r2); !ok {
			return
		}
	}
	h.federatedDone(w, r, up, t, ident, a.Link, []string{"fed"}, false)
}

// federatedDone links or signs in the person an upstream vouched for.
func (h *Handler) federatedDone(w http.ResponseWriter, r *http.Request, up Upstream, t loginTarget, ident upstream.Identity, link bool, amr []string, remember bool) {
	ctx := r.Context()
	fi := app.FederatedIdentity{
		UpstreamID: up.Provider.ID(), Subject: ident.Subject, Username: ident.Username,
		Email: ident.Email, EmailVerified: ident.EmailVerified, Name: ident.Name, Groups: ident.Groups,
	}
	if link {
		_, u, ok := h.accountUser(w, r)
		if !ok {
			return
		}
		if err := h.app.LinkIdentity(ctx, u.ID, fi); err != nil {
			h.upstreamFailed(w, r, up, err)
			return
		}
		seeOther(w, r, "/account?done=linked")
		return
	}
	u, err := h.app.FederatedSignIn(ctx, fi, up.Policy)
	if err != nil {
		h.upstreamFailed(w, r, up, err)
		return
	}
	// A user with a second factor (or a request that needs two) takes
	// the same second step as after a password (mfa.go).
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

func (h *Handler) upstreamAction(t loginTarget, id string) string {
	a := "/login/upstream/" + url.PathEscape(id)
	if t.handle != "" {
		a += "?flow=" + url.QueryEscape(t.handle)
	}
	return a
}

func (h *Handler) renderUpstreamPassword(w http.ResponseWriter, r *http.Request, status int, t loginTarget, up upstream.Upstream, username, msg string) {
	csrf, err := h.sessions.CSRFToken(w, r, "upstream:"+up.ID()+":"+t.handle)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	ui.Render(w, status, "login", "Sign in", loginData{
		Action: h.upstreamAction(t, up.ID()), CSRF: csrf, Username: username, Error: msg,
		ClientName: t.client, Directory: up.Name(),
	})
}

// upstreamPasswordSubmit checks a directory password (ldap) behind the
// one brute-force guard (app.Passwords.VerifyExternal).
func (h *Handler) upstreamPasswordSubmit(w http.ResponseWriter, r *http.Request, id string) {
	up, ok := h.upstream(id)
	if !ok {
		unknownUpstream(w)
		return
	}
	pw, ok := up.Provider.(upstream.Password)
	if !ok {
		unknownUpstream(w)
		return
	}
	t, ok := h.loadLoginTarget(w, r)
	if !ok {
		return
	}
	if !h.sessions.CheckCSRF(r, "upstream:"+id+":"+t.handle, r.PostFormValue("csrf_token")) {
		forbidden(w)
		return
	}
	username := r.PostFormValue("username")
	var ident upstream.Identity
	err := h.passwords.VerifyExternal(r.Context(), "upstream:"+id, app.PasswordAttempt{
		Username: username, Password: r.PostFormValue("password"), IP: clientIP(r), UserAgent: r.UserAgent(),
	}, func(ctx context.Context, name, password string) error {
		var err error
		ident, err = pw.Authenticate(ctx, name, password)
		if errors.Is(err, upstream.ErrInvalidCredentials) {
			return app.ErrInvalidCredentials
		}
		return err
	})
	var le *app.LockedError
	switch {
	case errors.As(err, &le):
		w.Header().Set("Retry-After", strconv.Itoa(throttle.RetryAfter(le.Until, h.now())))
		h.renderUpstreamPassword(w, r, http.StatusTooManyRequests, t, pw, username, throttle.Message)
		return
	case errors.Is(err, app.ErrInvalidCredentials):
		h.audit(r.Context(), r, auditLogin, "", t.flow.ClientID, outcomeFailure)
		h.renderUpstreamPassword(w, r, http.StatusUnauthorized, t, pw, username, "Incorrect username or password.")
		return
	case err != nil:
		h.upstreamFailed(w, r, up, err)
		return
	}
	h.federatedDone(w, r, up, t, ident, false, []string{"fed", "pwd"}, r.PostFormValue("remember") != "")
}

// accountUnlink removes a linked identity (POST /account/identities/unlink).
func (h *Handler) accountUnlink(w http.ResponseWriter, r *http.Request) {
	s, u, ok := h.accountForm(w, r)
	if !ok {
		return
	}
	err := h.app.UnlinkIdentity(r.Context(), u.ID, r.PostFormValue("upstream"), r.PostFormValue("subject"))
	switch {
	case errors.Is(err, app.ErrLastSignInMethod):
		h.renderAccount(w, r, http.StatusConflict, s, u, "",
			"This is your only way to sign in: set a password or link another provider before removing it.")
		return
	case errors.Is(err, storage.ErrNotFound):
		h.renderAccount(w, r, http.StatusNotFound, s, u, "", "That sign-in method is not linked to your account.")
		return
	case err != nil:
		h.serverError(w, r, err)
		return
	}
	seeOther(w, r, "/account?done=unlinked")
}

func trimLog(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}

func constantEqual(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

type identityInfo struct {
	UpstreamID, Subject string
	Provider            string // the upstream's name, or its id once it is no longer configured
	Account             string // email or username at the upstream
}

// identities lists the user's linked upstream accounts and the redirect
// upstreams not linked yet.
func (h *Handler) identities(ctx context.Context, userID string) ([]identityInfo, []upstreamButton, error) {
	ids, err := h.app.ListIdentities(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	linked := map[string]bool{}
	out := make([]identityInfo, 0, len(ids))
	for _, id := range ids {
		info := identityInfo{UpstreamID: id.UpstreamID, Subject: id.Subject, Provider: id.UpstreamID, Account: id.Email}
		if info.Account == "" {
			info.Account = id.Username
		}
		if up, ok := h.upstream(id.UpstreamID); ok {
			info.Provider = up.Provider.Name()
		}
		linked[id.UpstreamID] = true
		out = append(out, info)
	}
	var linkable []upstreamButton
	for _, u := range h.upstreams {
		if _, ok := u.Provider.(upstream.Redirect); ok && !linked[u.Provider.ID()] {
			linkable = append(linkable, upstreamButton{Name: u.Provider.Name(), URL: "/login/upstream/" + url.PathEscape(u.Provider.ID()) + "?link=1"})
		}
	}
	return out, linkable, nil
}

package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/session"
	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/web/ui"
)

type appInfo struct {
	ClientID  string
	Name      string
	Scopes    []string
	GrantedAt time.Time
	LastUsed  time.Time
}

type accountData struct {
	Username string
	Name     string
	Email    string
	Apps     []appInfo
	CSRF     string
	Notice   string
	Error    string
	// Identities are the linked upstream accounts; Linkable the redirect
	// upstreams the user may link (upstream.go).
	Identities []identityInfo
	Linkable   []upstreamButton
	// Sessions are the user's live login sessions, this one marked.
	Sessions []sessionInfo
}

// notices are the fixed messages a redirect back to /account may show;
// the query only picks one, so no text can be injected through the URL.
var notices = map[string]string{
	"revoked":  "Access removed. The app's tokens no longer work.",
	"password": "Password changed. Other devices have been signed out.",
	"linked":   "Sign-in provider linked.",
	"unlinked": "Sign-in provider removed.",
	"profile":  "Profile saved.",
	// The new address is pending until its link is opened.
	"email_pending": "Check the inbox of the new address: the change takes effect when you open the link sent there.",
	"email_changed": "Email address changed and confirmed.",
	"session":       "That session has been signed out.",
}

// accountUser returns the signed-in user, or redirects to /login.
func (h *Handler) accountUser(w http.ResponseWriter, r *http.Request) (storage.LoginSession, storage.User, bool) {
	s, err := h.sessions.Current(r.Context(), r)
	if errors.Is(err, session.ErrNoSession) {
		seeOther(w, r, session.PathLogin)
		return s, storage.User{}, false
	}
	if err != nil {
		h.serverError(w, r, err)
		return s, storage.User{}, false
	}
	u, err := h.store.GetUser(r.Context(), s.UserID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && u.Disabled) {
		_, _ = h.sessions.Logout(r.Context(), w, r)
		seeOther(w, r, session.PathLogin)
		return s, storage.User{}, false
	}
	if err != nil {
		h.serverError(w, r, err)
		return s, storage.User{}, false
	}
	return s, u, true
}

func accountBinding(s storage.LoginSession) string { return "account:" + s.ID }

// accountForm is accountUser for the account pages' POST forms: it also
// checks the form's CSRF token against the session and answers 403 when it
// does not match.
func (h *Handler) accountForm(w http.ResponseWriter, r *http.Request) (storage.LoginSession, storage.User, bool) {
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

func (h *Handler) accountPage(w http.ResponseWriter, r *http.Request) {
	s, u, ok := h.accountUser(w, r)
	if !ok {
		return
	}
	h.renderAccount(w, r, http.StatusOK, s, u, notices[r.URL.Query().Get("done")], "")
}

func (h *Handler) renderAccount(w http.ResponseWriter, r *http.Request, status int, s storage.LoginSession, u storage.User, notice, msg string) {
	apps, err := h.apps(r.Context(), u.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	csrf, err := h.sessions.CSRFToken(w, r, accountBinding(s))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	ids, linkable, err := h.identities(r.Context(), u.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	sessions, _, err := h.userSessions(r.Context(), u.ID, s.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	ui.Render(w, status, "account", "Your account", accountData{
		Username: u.Username, Name: u.Name, Email: u.Email, Apps: apps, CSRF: csrf, Notice: notice, Error: msg,
		Identities: ids, Linkable: linkable, Sessions: sessions,
	})
}

// apps groups the user's active grants and remembered consents by client.
func (h *Handler) apps(ctx context.Context, userID string) ([]appInfo, error) {
	grants, err := h.store.ListGrants(ctx, storage.GrantFilter{Subject: userID, ActiveOnly: true, Now: h.now()})
	if err != nil {
		return nil, fmt.Errorf("web: list grants: %w", err)
	}
	consents, err := h.store.ListConsents(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("web: list consents: %w", err)
	}
	type acc struct {
		info   appInfo
		scopes map[string]bool
	}
	by := map[string]*acc{}
	get := func(clientID string) *acc {
		a, ok := by[clientID]
		if !ok {
			a = &acc{info: appInfo{ClientID: clientID}, scopes: map[string]bool{}}
			by[clientID] = a
		}
		return a
	}
	for _, g := range grants {
		if g.GrantType == "client_credentials" {
			continue
		}
		a := get(g.ClientID)
		for _, sc := range g.Scopes {
			a.scopes[sc] = true
		}
		a.info.GrantedAt = earliest(a.info.GrantedAt, g.CreatedAt)
		if g.LastUsedAt.After(a.info.LastUsed) {
			a.info.LastUsed = g.LastUsedAt
		}
	}
	for _, c := range consents {
		a := get(c.ClientID)
		for _, sc := range c.Scopes {
			a.scopes[sc] = true
		}
		a.info.GrantedAt = earliest(a.info.GrantedAt, c.CreatedAt)
	}
	out := make([]appInfo, 0, len(by))
	for id, a := range by {
		a.info.Name = id
		if c, err := h.store.GetClient(ctx, id); err == nil && c.Name != "" {
			a.info.Name = c.Name
		} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, fmt.Errorf("web: load client: %w", err)
		}
		scopes := make([]string, 0, len(a.scopes))
		for sc := range a.scopes {
			scopes = append(scopes, sc)
		}
		sort.Slice(scopes, func(i, j int) bool { return scopeRank(scopes[i], scopes[j]) })
		a.info.Scopes = h.scopes.titles(scopes)
		out = append(out, a.info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// accountRevoke removes one app's access through app.RevokeConsent: every
// grant of the client for this user is revoked with its tokens and codes,
// and the remembered consent is forgotten so the next login asks again.
func (h *Handler) accountRevoke(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.accountForm(w, r)
	if !ok {
		return
	}
	clientID := r.PostFormValue("client_id")
	if clientID == "" {
		seeOther(w, r, "/account")
		return
	}
	ctx := r.Context()
	if _, err := h.app.RevokeConsent(ctx, "user:"+u.ID, u.ID, clientID); err != nil && !errors.Is(err, storage.ErrNotFound) {
		h.serverError(w, r, err)
		return
	}
	h.log.InfoContext(ctx, "web: access revoked by user", "user_id", u.ID, "client_id", clientID)
	seeOther(w, r, "/account?done=revoked")
}

func (h *Handler) accountPassword(w http.ResponseWriter, r *http.Request) {
	s, u, ok := h.accountForm(w, r)
	if !ok {
		return
	}
	current, next := r.PostFormValue("current_password"), r.PostFormValue("new_password")
	if _, err := h.checkPassword(w, r, u.Username, current, true); err != nil {
		if errors.Is(err, errLocked) {
			h.renderAccount(w, r, http.StatusTooManyRequests, s, u, "", throttle.Message)
			return
		}
		if errors.Is(err, errBadCredentials) {
			h.renderAccount(w, r, http.StatusUnauthorized, s, u, "", "Your current password is not correct.")
			return
		}
		h.serverError(w, r, err)
		return
	}
	// One policy and one revocation (internal/app): every session and
	// grant of the user ends, so someone who knew the old password is
	// signed out everywhere; this browser gets a fresh session below.
	if err := h.app.ChangeOwnPassword(r.Context(), u.ID, next); err != nil {
		var ve *app.ValidationError
		if errors.As(err, &ve) {
			h.renderAccount(w, r, http.StatusBadRequest, s, u, "", "The new password "+ve.Reason+".")
			return
		}
		h.serverError(w, r, err)
		return
	}
	// The fresh session gets a browser-session cookie: whether the old one
	// was persistent is not recorded, and the safer choice is not to be.
	if _, err := h.sessions.Login(r.Context(), w, r, u.ID, []string{"pwd"}, false); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "web: password changed", "user_id", u.ID)
	seeOther(w, r, "/account?done=password")
}

func (h *Handler) accountLogout(w http.ResponseWriter, r *http.Request) {
	_, _, ok := h.accountForm(w, r)
	if !ok {
		return
	}
	if _, err := h.sessions.Logout(r.Context(), w, r); err != nil && !errors.Is(err, session.ErrNoSession) {
		h.serverError(w, r, err)
		return
	}
	seeOther(w, r, "/signed-out")
}

func (h *Handler) accountLogoutAll(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.accountForm(w, r)
	if !ok {
		return
	}
	if _, err := h.store.RevokeUserSessions(r.Context(), u.ID, h.now()); err != nil {
		h.serverError(w, r, err)
		return
	}
	_, _ = h.sessions.Logout(r.Context(), w, r)
	h.log.InfoContext(r.Context(), "web: signed out everywhere", "user_id", u.ID)
	h.audit(r.Context(), r, auditLogoutAll, u.ID, "", outcomeSuccess)
	seeOther(w, r, "/signed-out")
}

// earliest is the earlier of two times, treating zero as unset.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

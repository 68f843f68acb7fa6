package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/web/ui"
)

// PathConfirmEmail is the link of the email-change mail.
const PathConfirmEmail = "/account/email/confirm"

// sessionInfo is one of the user's live login sessions on /account.
// Handle names it in forms: a digest of the session's storage id, so the
// page never carries the id itself.
type sessionInfo struct {
	Handle    string
	UserAgent string
	CreatedAt string
	Current   bool
}

func sessionHandle(id string) string {
	sum := sha256.Sum256([]byte("sesame-session-handle:" + id))
	return hex.EncodeToString(sum[:12])
}

// userSessions lists the user's live sessions, the current one marked.
func (h *Handler) userSessions(ctx context.Context, userID, currentID string) ([]sessionInfo, []storage.LoginSession, error) {
	ss, err := h.store.ListUserSessions(ctx, userID, h.now())
	if err != nil {
		return nil, nil, fmt.Errorf("web: list sessions: %w", err)
	}
	out := make([]sessionInfo, 0, len(ss))
	for _, s := range ss {
		out = append(out, sessionInfo{Handle: sessionHandle(s.ID), UserAgent: s.UserAgent,
			CreatedAt: s.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"), Current: s.ID == currentID})
	}
	return out, ss, nil
}

// accountProfile is POST /account/profile: name at once, a new email after
// its confirmation link (internal/app).
func (h *Handler) accountProfile(w http.ResponseWriter, r *http.Request) {
	s, u, ok := h.accountForm(w, r)
	if !ok {
		return
	}
	email := r.PostFormValue("email")
	if h.mailOff && strings.TrimSpace(email) != u.Email {
		h.renderAccount(w, r, http.StatusServiceUnavailable, s, u, "", "account.email_needs_mail")
		return
	}
	res, err := h.app.UpdateProfile(r.Context(), app.ProfileEdit{
		UserID: u.ID, Name: r.PostFormValue("name"), Email: email,
		ConfirmURL: h.issuer + PathConfirmEmail, Lifetime: h.emailLinkLifetime,
	})
	var ve *app.ValidationError
	if errors.As(err, &ve) {
		h.renderAccount(w, r, http.StatusBadRequest, s, u, "", "account.profile_invalid_"+ve.Field)
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	switch {
	case res.EmailPending != "":
		seeOther(w, r, "/account?done=email_pending")
	default:
		seeOther(w, r, "/account?done=profile")
	}
}

// confirmEmail is GET /account/email/confirm?token=…, the link mailed to
// the new address.
func (h *Handler) confirmEmail(w http.ResponseWriter, r *http.Request) {
	u, err := h.app.ConfirmEmailChange(r.Context(), r.URL.Query().Get("token"))
	if errors.Is(err, app.ErrLinkInvalid) {
		ui.Error(w, http.StatusBadRequest, "account.link_invalid_heading", "account.link_invalid", "invalid_link")
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "web: email changed", "user_id", u.ID)
	seeOther(w, r, "/account?done=email_changed")
}

// accountRevokeSession is POST /account/sessions/revoke (field session, a
// handle from the list): that session ends; if it is this browser's, the
// cookie goes too.
func (h *Handler) accountRevokeSession(w http.ResponseWriter, r *http.Request) {
	s, u, ok := h.accountForm(w, r)
	if !ok {
		return
	}
	_, ss, err := h.userSessions(r.Context(), u.ID, s.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	handle := r.PostFormValue("session")
	for _, ls := range ss {
		if sessionHandle(ls.ID) != handle {
			continue
		}
		if err := h.app.RevokeOwnSession(r.Context(), u.ID, ls.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
			h.serverError(w, r, err)
			return
		}
		h.log.InfoContext(r.Context(), "web: session signed out by user", "user_id", u.ID)
		if ls.ID == s.ID {
			_, _ = h.sessions.Logout(r.Context(), w, r)
			seeOther(w, r, "/signed-out")
			return
		}
		seeOther(w, r, "/account?done=session")
		return
	}
	seeOther(w, r, "/account") // gone already, or a made-up handle
}

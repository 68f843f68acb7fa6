package web

import (
	"net/http"

	"github.com/sesameauth/sesame/web/ui"
)

// confirmData is the "are you sure?" page shown before a destructive
// account action. It needs no script: the account page links here with a
// GET, and only this page's form POSTs to the action itself.
type confirmData struct {
	Name     string // the app, for "revoke"
	ClientID string // for "revoke"; empty for "logout-all"
	Session  string // handle, for "session"
	Action   string // POST target
	CSRF     string
	title    string
}

// accountConfirm is GET /account/confirm?action=revoke&client_id=… or
// ?action=logout-all.
func (h *Handler) accountConfirm(w http.ResponseWriter, r *http.Request) {
	s, u, ok := h.accountUser(w, r)
	if !ok {
		return
	}
	csrf, err := h.sessions.CSRFToken(w, r, accountBinding(s))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	d := confirmData{CSRF: csrf}
	switch r.URL.Query().Get("action") {
	case "revoke":
		apps, err := h.apps(r.Context(), u.ID)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		id := r.URL.Query().Get("client_id")
		var name string
		for _, a := range apps {
			if a.ClientID == id {
				name = a.Name
			}
		}
		if name == "" {
			// Nothing to remove (already removed, or a made-up id).
			seeOther(w, r, "/account")
			return
		}
		d.Name, d.ClientID, d.Action, d.title = name, id, "/account/revoke", "Remove access"
	case "session":
		list, _, err := h.userSessions(r.Context(), u.ID, s.ID)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		handle := r.URL.Query().Get("session")
		for _, si := range list {
			if si.Handle == handle {
				d.Session, d.Name = handle, si.UserAgent
				if d.Name == "" {
					d.Name = "account.session_unknown"
				}
			}
		}
		if d.Session == "" {
			seeOther(w, r, "/account")
			return
		}
		d.Action, d.title = "/account/sessions/revoke", "Sign out this session"
	case "logout-all":
		d.Action, d.title = "/account/logout-all", "Sign out everywhere"
	default:
		seeOther(w, r, "/account")
		return
	}
	ui.Render(w, http.StatusOK, "confirm", d.title, d)
}

package admin

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
)

// ConsentView is a remembered authorization of a client by a user.
type ConsentView struct {
	UserID    string    `json:"user_id"`
	ClientID  string    `json:"client_id"`
	Scope     string    `json:"scope"`
	Audience  []string  `json:"audience"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func newConsentView(c storage.Consent) ConsentView {
	aud := c.Audience
	if aud == nil {
		aud = []string{}
	}
	return ConsentView{UserID: c.UserID, ClientID: c.ClientID, Scope: strings.Join(c.Scopes, " "),
		Audience: aud, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// listConsents is GET /admin/users/{id}/consents. A user has at most one
// consent per client, so the list is never paged.
func (h *Handler) listConsents(c *gin.Context) {
	ctx := c.Request.Context()
	u, err := h.svc.GetUser(ctx, c.Param("id"))
	if err != nil {
		h.writeError(c, err)
		return
	}
	cs, err := h.store.ListConsents(ctx, u.ID)
	if err != nil {
		h.writeError(c, fmt.Errorf("list consents: %w", err))
		return
	}
	writeJSON(c, http.StatusOK, page[ConsentView]{Items: mapSlice(cs, newConsentView)})
}

// revokeConsent is DELETE /admin/users/{id}/consents/{client_id}: the
// remembered consent is forgotten and every grant the user gave the client
// is revoked with its tokens, in one transaction.
func (h *Handler) revokeConsent(c *gin.Context) {
	n, err := h.svc.RevokeConsent(c.Request.Context(), actor(c), c.Param("id"), c.Param("client_id"))
	if err != nil {
		h.writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, map[string]int{"grants_revoked": n})
}

// listUserTokens is GET /admin/users/{id}/tokens: the user's live grants
// (personal tokens, imported DRF tokens, sign-ins), like `sesame tokens
// list`. A user has few live grants, so the list is never paged.
func (h *Handler) listUserTokens(c *gin.Context) {
	ts, err := h.svc.ListUserTokens(c.Request.Context(), c.Param("id"))
	if err != nil {
		h.writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, page[app.TokenView]{Items: ts})
}

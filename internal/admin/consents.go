package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

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
	var n int
	err := storage.InTx(c.Request.Context(), h.store, func(ctx context.Context) error {
		u, err := h.svc.GetUser(ctx, c.Param("id"))
		if err != nil {
			return err
		}
		clientID := c.Param("client_id")
		n, err = revokeGrants(ctx, h.store, storage.GrantFilter{Subject: u.ID, ClientID: clientID}, "consent revoked", h.now())
		if err != nil {
			return err
		}
		err = h.store.DeleteConsent(ctx, u.ID, clientID)
		switch {
		case errors.Is(err, storage.ErrNotFound) && n == 0:
			return &apiError{Status: http.StatusNotFound, Code: "not_found",
				Description: fmt.Sprintf("user %q has no consent or grant for client %q", u.Username, clientID)}
		case err != nil && !errors.Is(err, storage.ErrNotFound):
			return fmt.Errorf("delete consent: %w", err)
		}
		return h.audit(ctx, actor(c), "consent.revoked", clientID, u.ID, map[string]string{"grants_revoked": fmt.Sprint(n)})
	})
	if err != nil {
		h.writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, map[string]int{"grants_revoked": n})
}

// revokeGrants revokes the matching grant families and deactivates their
// token rows. JWT access tokens are refused through their revoked grant.
func revokeGrants(ctx context.Context, st storage.Store, f storage.GrantFilter, reason string, now time.Time) (int, error) {
	ids, err := st.RevokeGrants(ctx, f, reason, now.UTC().Truncate(time.Microsecond))
	if err != nil {
		return 0, fmt.Errorf("revoke grants: %w", err)
	}
	for _, id := range ids {
		for _, kind := range []storage.TokenKind{storage.KindAccessToken, storage.KindRefreshToken, storage.KindAuthorizeCode} {
			if _, err := st.DeactivateByRequestID(ctx, kind, id); err != nil {
				return 0, fmt.Errorf("deactivate %s of grant: %w", kind, err)
			}
		}
	}
	return len(ids), nil
}

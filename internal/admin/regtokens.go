package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
)

func (h *Handler) createRegistrationToken(c *gin.Context) {
	var in struct {
		Description string `json:"description"`
		ExpiresIn   int64  `json:"expires_in"` // seconds
		MaxUses     int    `json:"max_uses"`
	}
	if err := decodeJSON(c, &in, true, "invalid_request"); err != nil {
		h.writeError(c, err)
		return
	}
	if in.ExpiresIn < 0 || in.ExpiresIn > int64(app.MaxRegistrationTokenTTL/time.Second) {
		h.writeError(c, badRequest("expires_in: must be a number of seconds between 60 and %d", int64(app.MaxRegistrationTokenTTL/time.Second)))
		return
	}
	v, err := app.CreateRegistrationToken(c.Request.Context(), h.store, actor(c), app.NewRegistrationToken{
		Description: in.Description, ExpiresIn: time.Duration(in.ExpiresIn) * time.Second, MaxUses: in.MaxUses,
	}, h.now())
	if err != nil {
		h.writeError(c, err)
		return
	}
	writeJSON(c, http.StatusCreated, v)
}

// listRegistrationTokens lists every initial access token, newest first
// (there are few; the list is not paged).
func (h *Handler) listRegistrationTokens(c *gin.Context) {
	ts, err := h.store.ListRegistrationTokens(c.Request.Context())
	if err != nil {
		h.writeError(c, fmt.Errorf("list registration tokens: %w", err))
		return
	}
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].CreatedAt.After(ts[j].CreatedAt) })
	writeJSON(c, http.StatusOK, page[app.RegistrationTokenView]{Items: mapSlice(ts, func(t storage.RegistrationToken) app.RegistrationTokenView {
		return app.NewRegistrationTokenView(t, "")
	})})
}

func (h *Handler) deleteRegistrationToken(c *gin.Context) {
	id := c.Param("id")
	err := storage.InTx(c.Request.Context(), h.store, func(ctx context.Context) error {
		if err := h.store.DeleteRegistrationToken(ctx, id); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return &apiError{Status: http.StatusNotFound, Code: "not_found", Description: fmt.Sprintf("registration token %q not found", id)}
			}
			return fmt.Errorf("delete registration token: %w", err)
		}
		return h.audit(ctx, actor(c), "registration_token.deleted", "", "", map[string]string{"id": id})
	})
	if err != nil {
		h.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

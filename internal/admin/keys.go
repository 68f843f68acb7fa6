package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/keys"
)

// KeyView is a signing key's state and public JWK (never private material).
type KeyView struct {
	keys.Info
	PublicJWK json.RawMessage `json:"public_jwk,omitempty"`
}

func (h *Handler) keyViews(ctx context.Context, infos []keys.Info) ([]KeyView, error) {
	rows, err := h.store.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	pub := make(map[string]json.RawMessage, len(rows))
	for _, r := range rows {
		pub[r.KID] = json.RawMessage(r.PublicJWK)
	}
	return mapSlice(infos, func(i keys.Info) KeyView { return KeyView{Info: i, PublicJWK: pub[i.KID]} }), nil
}

func (h *Handler) listKeys(c *gin.Context) {
	ctx := c.Request.Context()
	infos, err := h.keys.List(ctx)
	if err != nil {
		h.writeError(c, fmt.Errorf("list keys: %w", err))
		return
	}
	views, err := h.keyViews(ctx, infos)
	if err != nil {
		h.writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, page[KeyView]{Items: views})
}

// rotateKeys activates a new key for every algorithm in use; the previous
// keys stay published until the tokens they signed have expired. It answers
// the new active keys.
func (h *Handler) rotateKeys(c *gin.Context) {
	ctx := c.Request.Context()
	infos, err := h.keys.RotateAll(ctx)
	if err != nil {
		h.writeError(c, fmt.Errorf("rotate keys: %w", err))
		return
	}
	for _, i := range infos {
		if err := h.audit(ctx, actor(c), "key.rotated", "", "", map[string]string{"kid": i.KID, "alg": i.Alg}); err != nil {
			h.writeError(c, fmt.Errorf("audit key rotation: %w", err))
			return
		}
	}
	views, err := h.keyViews(ctx, infos)
	if err != nil {
		h.writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, page[KeyView]{Items: views})
}

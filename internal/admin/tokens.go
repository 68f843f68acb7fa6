package admin

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// revokeTokens is POST /admin/tokens/revoke with {"user_id": ...} (id or
// username) or {"client_id": ...}: every grant issued to that user or client
// is revoked with its tokens.
func (h *Handler) revokeTokens(c *gin.Context) {
	var in struct {
		UserID   string `json:"user_id"`
		ClientID string `json:"client_id"`
	}
	if err := decodeJSON(c, &in, true, "invalid_request"); err != nil {
		h.writeError(c, err)
		return
	}
	in.UserID, in.ClientID = strings.TrimSpace(in.UserID), strings.TrimSpace(in.ClientID)
	if (in.UserID == "") == (in.ClientID == "") {
		h.writeError(c, badRequest("user_id, client_id: give exactly one of them"))
		return
	}
	var (
		n   int
		err error
	)
	if in.UserID != "" {
		n, err = h.svc.RevokeForUser(c.Request.Context(), actor(c), in.UserID)
	} else {
		n, err = h.svc.RevokeForClient(c.Request.Context(), actor(c), in.ClientID)
	}
	if err != nil {
		h.writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, map[string]int{"grants_revoked": n})
}

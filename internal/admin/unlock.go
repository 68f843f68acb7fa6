package admin

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/app"
)

// unlockUser lifts a brute-force lock on a user's login name early (the
// API twin of `sesame users unlock`) and answers the user, like disable.
// Unlike the CLI it does not unlock a name without an account: the route
// names a user resource, so an unknown one is 404.
func (h *Handler) unlockUser(c *gin.Context) {
	u, err := h.svc.UnlockUser(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		h.writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, app.NewUserView(u))
}

// unlockClient lifts a brute-force lock on a client id early (the API twin
// of `sesame clients unlock`) and answers the client, without its secret.
func (h *Handler) unlockClient(c *gin.Context) {
	cl, err := h.svc.UnlockClient(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		h.writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, app.NewClientView(cl, ""))
}

// revokeRegistrationToken is DELETE /admin/clients/{id}/registration-token:
// the client's RFC 7592 registration access token stops working.
func (h *Handler) revokeRegistrationToken(c *gin.Context) {
	cl, err := h.svc.RevokeRegistrationToken(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		h.writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, app.NewClientView(cl, ""))
}

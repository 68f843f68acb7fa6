package admin

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/app"
)

// inviteUser is POST /admin/users/invite, the API twin of `sesame users
// invite EMAIL`: app.Invite makes the single-use /signup?invite=… link,
// queues the invitation mail and audits user.invited; the answer is the
// same Invitation object the CLI prints with --json. Sign-up off is a 409
// signup_closed (a setting of the server, like the CLI's refusal), a bad
// address a 400 naming the field, an address with an account a 409
// conflict.
func (h *Handler) inviteUser(c *gin.Context) {
	var in struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(c, &in, true, "invalid_request"); err != nil {
		h.writeError(c, err)
		return
	}
	inv, err := h.svc.Invite(c.Request.Context(), actor(c), in.Email)
	if errors.Is(err, app.ErrSignupClosed) {
		err = &apiError{Status: http.StatusConflict, Code: "signup_closed",
			Description: "sign-up is off (SESAME_SIGNUP=off): invitations need SESAME_SIGNUP=invite or open"}
	}
	if err != nil {
		h.writeError(c, err)
		return
	}
	writeJSON(c, http.StatusCreated, inv)
}

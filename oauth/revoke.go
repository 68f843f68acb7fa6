package oauth

import (
	"errors"

	"github.com/gin-gonic/gin"
	"github.com/ory/fosite"
)

// revoke is POST /oauth2/revoke (RFC 7009). Revoking either token of a
// grant revokes the whole grant: its refresh tokens, its access tokens, and
// the jti of its JWT access tokens (denylisted until they expire).
//
// fosite's WriteRevocationResponse answers 200 to every error but
// invalid_request and invalid_client, including a revocation it could not
// store; a storage failure is therefore answered here with 503 so a client
// knows to retry, never with 200.
func (h *Handler) revoke(c *gin.Context) {
	r, w := c.Request, c.Writer
	ctx, st := withState(r.Context())
	st.mu.Lock()
	st.revoking = true
	st.mu.Unlock()
	err := h.provider.NewRevocationRequest(ctx, r)
	if serr := st.storeFailure(); serr != nil || errors.Is(err, fosite.ErrTemporarilyUnavailable) {
		h.logger.ErrorContext(ctx, "oauth: revocation not stored", "err", serr, "cause", err)
		h.provider.WriteAccessError(ctx, w, nil, fosite.ErrTemporarilyUnavailable)
		return
	}
	if err != nil && errors.Is(err, fosite.ErrJTIKnown) {
		err = fosite.ErrInvalidClient.WithWrap(err)
	}
	if err != nil {
		rfc := fosite.ErrorToRFC6749Error(err)
		h.logger.InfoContext(ctx, "oauth: revocation request refused", "error", rfc.ErrorField, "hint", rfc.HintField)
	}
	h.provider.WriteRevocationResponse(ctx, w, err)
	h.auditRevoked(ctx, r, err) // audit.go
}

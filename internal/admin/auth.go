package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/storage"
)

// ScopeAdmin is the scope an access token must carry to call /admin/.
const ScopeAdmin = "sesame:admin"

// Principal is who an access token was issued to.
type Principal struct {
	Subject  string // user id, or the client id for client_credentials
	ClientID string
	Scopes   []string
}

// ErrInvalidToken is returned by a TokenVerifier for a token that is not an
// active access token of this server (unknown, expired, revoked, malformed,
// or a refresh token). Any other error is an infrastructure failure.
var ErrInvalidToken = errors.New("admin: invalid access token")

// TokenVerifier checks a bearer access token; OAuthVerifier implements it
// over package oauth.
type TokenVerifier interface {
	VerifyAccessToken(ctx context.Context, token string) (Principal, error)
}

type principalKey struct{}

// bearerToken extracts the RFC 6750 §2.1 credential ("" if absent).
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(tok), true
}

// requireAdmin authorizes an /admin/ call (RFC 6750 §3): no credential →
// 401 with a bare challenge; a bad token → 401 invalid_token; a token
// without sesame:admin → 403 insufficient_scope.
func (h *Handler) requireAdmin(c *gin.Context) {
	tok, present := bearerToken(c.Request)
	if !present {
		c.Header("WWW-Authenticate", `Bearer realm="sesame-admin"`)
		h.writeError(c, &apiError{Status: http.StatusUnauthorized, Code: "invalid_token", Description: "a bearer access token with the sesame:admin scope is required"})
		c.Abort()
		return
	}
	p, err := h.tokens.VerifyAccessToken(c.Request.Context(), tok)
	if tok == "" || errors.Is(err, ErrInvalidToken) {
		c.Header("WWW-Authenticate", `Bearer realm="sesame-admin", error="invalid_token"`)
		h.writeError(c, &apiError{Status: http.StatusUnauthorized, Code: "invalid_token", Description: "the access token is invalid, expired or revoked"})
		c.Abort()
		return
	}
	if err != nil {
		h.writeError(c, err)
		c.Abort()
		return
	}
	// The token's scope was granted when it was issued; the client must
	// still be allowed sesame:admin now, so that taking the scope away
	// (or deleting the client) locks it out at once, not at token expiry.
	if slices.Contains(p.Scopes, ScopeAdmin) {
		cl, err := h.store.GetClient(c.Request.Context(), p.ClientID)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			c.Header("WWW-Authenticate", `Bearer realm="sesame-admin", error="invalid_token"`)
			h.writeError(c, &apiError{Status: http.StatusUnauthorized, Code: "invalid_token", Description: "the access token's client no longer exists"})
			c.Abort()
			return
		case err != nil:
			h.writeError(c, fmt.Errorf("load admin client: %w", err))
			c.Abort()
			return
		case !slices.Contains(cl.Scopes, ScopeAdmin):
			p.Scopes = nil
		}
	}
	if !slices.Contains(p.Scopes, ScopeAdmin) {
		c.Header("WWW-Authenticate", `Bearer realm="sesame-admin", error="insufficient_scope", scope="`+ScopeAdmin+`"`)
		h.writeError(c, &apiError{Status: http.StatusForbidden, Code: "insufficient_scope", Description: "the access token lacks the sesame:admin scope"})
		c.Abort()
		return
	}
	c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), principalKey{}, p))
	c.Next()
}

// actor names the caller in the audit log: "admin:<client_id>".
func actor(c *gin.Context) string {
	p, _ := c.Request.Context().Value(principalKey{}).(Principal)
	return "admin:" + p.ClientID
}

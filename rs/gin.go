package rs

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
)

// Gin is Middleware for gin. The Principal is in the request context:
// rs.FromContext(c.Request.Context()).
func Gin(auth Authenticator, opts ...Option) gin.HandlerFunc {
	o := buildOptions(opts)
	return func(c *gin.Context) {
		p, ch := authenticate(auth, c.Request, &o)
		if ch != nil {
			ch.write(c.Writer, o.realm)
			c.Abort()
			return
		}
		c.Request = c.Request.WithContext(withRealm(WithPrincipal(c.Request.Context(), p), o.realm))
		c.Next()
	}
}

// GinRequireScopes is RequireScopes for gin; Gin must run first.
func GinRequireScopes(scopes ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		realm := realmFrom(c.Request.Context())
		p := FromContext(c.Request.Context())
		if p == nil {
			(&challenge{status: http.StatusUnauthorized}).write(c.Writer, realm)
			c.Abort()
			return
		}
		if len(missingScopes(p, scopes)) > 0 {
			scopeChallenge(scopes).write(c.Writer, realm)
			c.Abort()
			return
		}
		c.Next()
	}
}

func withRealm(ctx context.Context, realm string) context.Context {
	if realm == "" {
		return ctx
	}
	return context.WithValue(ctx, realmKey{}, realm)
}

func realmFrom(ctx context.Context) string {
	s, _ := ctx.Value(realmKey{}).(string)
	return s
}

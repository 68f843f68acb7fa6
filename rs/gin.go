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
			ch.metadata = o.resourceMetadata
			ch.write(c.Writer, o.realm)
			c.Abort()
			return
		}
		ctx := withMetadata(WithPrincipal(c.Request.Context(), p), o.resourceMetadata)
		c.Request = c.Request.WithContext(withRealm(ctx, o.realm))
		c.Next()
	}
}

// GinRequireScopes is RequireScopes for gin; Gin must run first.
func GinRequireScopes(scopes ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		realm, md := realmFrom(c.Request.Context()), metadataFrom(c.Request.Context())
		p := FromContext(c.Request.Context())
		if p == nil {
			(&challenge{status: http.StatusUnauthorized, metadata: md}).write(c.Writer, realm)
			c.Abort()
			return
		}
		if len(missingScopes(p, scopes)) > 0 {
			ch := scopeChallenge(scopes)
			ch.metadata = md
			ch.write(c.Writer, realm)
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

type metadataKey struct{}

// withMetadata carries the resource_metadata URL to RequireScopes.
func withMetadata(ctx context.Context, url string) context.Context {
	if url == "" {
		return ctx
	}
	return context.WithValue(ctx, metadataKey{}, url)
}

func metadataFrom(ctx context.Context) string {
	s, _ := ctx.Value(metadataKey{}).(string)
	return s
}

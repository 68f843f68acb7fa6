package httpx

import (
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
)

// ForPaths runs mw only for requests whose URL path is one of paths, and
// passes every other request on. A path is matched exactly, except one
// ending in "/*", which matches everything below it ("/oauth2/register/*"
// matches "/oauth2/register/abc", not "/oauth2/register"). It lets the composition root
// attach a route group's middleware (rate limit, CORS, no-store) with
// engine.Use, independently of how each feature package mounts its routes.
// Register it with engine.Use before any route: gin copies the middleware
// into each route when the route is added. Engine middleware also runs for
// unmatched methods (gin's 405 path), so a ForPaths(CORS(...)) answers
// preflights even without an OPTIONS route.
func ForPaths(mw gin.HandlerFunc, paths ...string) gin.HandlerFunc {
	paths = slices.Clone(paths)
	return func(c *gin.Context) {
		if matchPath(paths, c.Request.URL.Path) {
			mw(c)
			return
		}
		c.Next()
	}
}

func matchPath(paths []string, p string) bool {
	for _, want := range paths {
		if prefix, ok := strings.CutSuffix(want, "*"); ok && strings.HasSuffix(prefix, "/") {
			if strings.HasPrefix(p, prefix) && len(p) > len(prefix) {
				return true
			}
		} else if p == want {
			return true
		}
	}
	return false
}

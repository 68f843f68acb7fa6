package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/app"
)

// upstreamCheckTimeout bounds GET /admin/upstreams: each upstream is
// probed live (discovery, JWKS, directory), all at once.
const upstreamCheckTimeout = 10 * time.Second

// listUpstreams answers GET /admin/upstreams (read-only): the configured
// sign-in providers and whether what each needs is reachable, as `sesame
// upstreams list --json`. Upstreams come from the config file only; there
// is nothing to change here.
func (h *Handler) listUpstreams(c *gin.Context) {
	items := []app.UpstreamStatus{}
	if h.upstreams != nil {
		ctx, cancel := context.WithTimeout(c.Request.Context(), upstreamCheckTimeout)
		defer cancel()
		items = h.upstreams(ctx)
	}
	writeJSON(c, http.StatusOK, page[app.UpstreamStatus]{Items: items})
}

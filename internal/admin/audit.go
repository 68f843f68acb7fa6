package admin

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
)

// listAudit is GET /admin/audit, newest first, filtered by type, client_id,
// user_id and the time range [since, until) (RFC 3339).
func (h *Handler) listAudit(c *gin.Context) {
	f := storage.AuditFilter{Type: c.Query("type"), ClientID: c.Query("client_id"), UserID: c.Query("user_id")}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := c.Query(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				h.writeError(c, badRequest("%s: must be an RFC 3339 time like 2026-01-02T15:04:05Z", p.name))
				return
			}
			*p.dst = t.UTC()
		}
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > storage.MaxListLimit {
			h.writeError(c, badRequest("limit: must be an integer between 1 and %d", storage.MaxListLimit))
			return
		}
		f.Limit = n
	}
	cur, err := h.cursor.unwrap(c.Query("cursor"))
	if err != nil {
		h.writeError(c, err)
		return
	}
	f.Cursor = cur
	evs, next, err := h.svc.ListAudit(c.Request.Context(), f)
	if err != nil {
		h.writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, page[app.AuditView]{Items: mapSlice(evs, app.NewAuditView), NextCursor: h.cursor.wrap(next)})
}

package admin

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/app"
)

// resourceScopeInput is one scope of a registered API; a missing
// description on PATCH keeps the scope's current one.
type resourceScopeInput struct {
	Name        string  `json:"name"`
	Description *string `json:"description"`
}

// resourceInput is POST and PATCH /admin/resources[/{id}]; app bounds
// every field. On PATCH an absent field stays as it is, and scopes
// replaces the whole list.
type resourceInput struct {
	URI    *string               `json:"uri"`
	Name   *string               `json:"name"`
	Scopes *[]resourceScopeInput `json:"scopes"`
}

func (in resourceInput) toApp() app.ResourceInput {
	out := app.ResourceInput{URI: in.URI, Name: in.Name, Descriptions: map[string]string{}}
	if in.Scopes != nil {
		out.Scopes = make([]string, 0, len(*in.Scopes))
		for _, s := range *in.Scopes {
			out.Scopes = append(out.Scopes, s.Name)
			if s.Description != nil {
				out.Descriptions[s.Name] = *s.Description
			}
		}
	}
	return out
}

// listResources is GET /admin/resources: every registered API by URI,
// like `sesame resources list --json` (never paged: APIs are few).
func (h *Handler) listResources(c *gin.Context) {
	rs, err := h.svc.ListResources(c.Request.Context())
	if err != nil {
		h.writeError(c, err)
		return
	}
	views := make([]app.ResourceView, 0, len(rs))
	for _, r := range rs {
		views = append(views, app.NewResourceView(r))
	}
	writeJSON(c, http.StatusOK, page[app.ResourceView]{Items: views})
}

func (h *Handler) createResource(c *gin.Context) {
	var in resourceInput
	if err := decodeJSON(c, &in, true, "invalid_request"); err != nil {
		h.writeError(c, err)
		return
	}
	r, err := h.svc.CreateResource(c.Request.Context(), actor(c), in.toApp())
	if err != nil {
		h.writeError(c, err)
		return
	}
	c.Header("Location", "/admin/resources/"+r.ID)
	writeJSON(c, http.StatusCreated, app.NewResourceView(r))
}

// getResource is GET /admin/resources/{id}.
func (h *Handler) getResource(c *gin.Context) {
	r, err := h.svc.GetResource(c.Request.Context(), c.Param("id"))
	if err != nil {
		h.writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, app.NewResourceView(r))
}

// patchResource is PATCH /admin/resources/{id}, like `sesame resources update`.
func (h *Handler) patchResource(c *gin.Context) {
	var in resourceInput
	if err := decodeJSON(c, &in, true, "invalid_request"); err != nil {
		h.writeError(c, err)
		return
	}
	r, err := h.svc.UpdateResource(c.Request.Context(), actor(c), c.Param("id"), in.toApp())
	if err != nil {
		h.writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, app.NewResourceView(r))
}

func (h *Handler) deleteResource(c *gin.Context) {
	if err := h.svc.DeleteResource(c.Request.Context(), actor(c), c.Param("id")); err != nil {
		h.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

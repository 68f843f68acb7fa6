package admin

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/app"
)

// groupCreateInput is POST /admin/groups. app bounds both fields (name:
// 150 characters, description: 500).
type groupCreateInput struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// listGroups is GET /admin/groups: every group with its members, like
// `sesame groups list --json`. Groups are few (Django's auth_group), so
// the list is never paged.
func (h *Handler) listGroups(c *gin.Context) {
	views, err := h.svc.ListGroupViews(c.Request.Context())
	if err != nil {
		h.writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, page[app.GroupView]{Items: views})
}

func (h *Handler) createGroup(c *gin.Context) {
	var in groupCreateInput
	if err := decodeJSON(c, &in, true, "invalid_request"); err != nil {
		h.writeError(c, err)
		return
	}
	g, err := h.svc.CreateGroup(c.Request.Context(), actor(c), in.Name, in.Description)
	if err != nil {
		h.writeError(c, err)
		return
	}
	c.Header("Location", "/admin/groups/"+g.ID)
	writeJSON(c, http.StatusCreated, app.NewGroupView(g, nil))
}

// getGroup is GET /admin/groups/{id}, by id or name, with the members.
func (h *Handler) getGroup(c *gin.Context) {
	h.writeGroup(c, http.StatusOK, c.Param("id"))
}

func (h *Handler) writeGroup(c *gin.Context, status int, idOrName string) {
	ctx := c.Request.Context()
	g, err := h.svc.GetGroup(ctx, idOrName)
	if err != nil {
		h.writeError(c, err)
		return
	}
	members, err := h.svc.GroupMembers(ctx, g.ID)
	if err != nil {
		h.writeError(c, err)
		return
	}
	writeJSON(c, status, app.NewGroupView(g, members))
}

func (h *Handler) deleteGroup(c *gin.Context) {
	if err := h.svc.DeleteGroup(c.Request.Context(), actor(c), c.Param("id")); err != nil {
		h.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// addGroupMember is PUT /admin/groups/{id}/members/{user_id} (user by id
// or username): 201 when the membership is new, 200 when it existed; both
// answer the group with its members.
func (h *Handler) addGroupMember(c *gin.Context) {
	added, err := h.svc.AddGroupMember(c.Request.Context(), actor(c), c.Param("id"), c.Param("user_id"))
	if err != nil {
		h.writeError(c, err)
		return
	}
	status := http.StatusOK
	if added {
		status = http.StatusCreated
	}
	h.writeGroup(c, status, c.Param("id"))
}

// removeGroupMember is DELETE /admin/groups/{id}/members/{user_id}; 404
// when the user was not a member.
func (h *Handler) removeGroupMember(c *gin.Context) {
	if err := h.svc.RemoveGroupMember(c.Request.Context(), actor(c), c.Param("id"), c.Param("user_id")); err != nil {
		h.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

package admin

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
)

type userCreateInput struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	Name          string `json:"name"`
}

// userPatchInput is PATCH /admin/users/{id}: only the fields present change.
type userPatchInput struct {
	Email         *string `json:"email"`
	EmailVerified *bool   `json:"email_verified"`
	Name          *string `json:"name"`
	Disabled      *bool   `json:"disabled"`
}

func (h *Handler) listUsers(c *gin.Context) {
	o, err := h.listOptions(c)
	if err != nil {
		h.writeError(c, err)
		return
	}
	us, next, err := h.svc.ListUsers(c.Request.Context(), o)
	if err != nil {
		h.writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, page[app.UserView]{Items: mapSlice(us, app.NewUserView), NextCursor: h.cursor.wrap(next)})
}

func (h *Handler) createUser(c *gin.Context) {
	var in userCreateInput
	if err := decodeJSON(c, &in, true, "invalid_request"); err != nil {
		h.writeError(c, err)
		return
	}
	u, err := h.svc.CreateUser(c.Request.Context(), actor(c), app.NewUser{
		Username: in.Username, Password: in.Password, Email: in.Email, EmailVerified: in.EmailVerified, Name: in.Name,
	})
	if err != nil {
		h.writeError(c, err)
		return
	}
	c.Header("Location", "/admin/users/"+u.ID)
	writeJSON(c, http.StatusCreated, app.NewUserView(u))
}

func (h *Handler) getUser(c *gin.Context) {
	u, err := h.svc.GetUser(c.Request.Context(), c.Param("id"))
	if err != nil {
		h.writeError(c, err)
		return
	}
	v, err := h.svc.UserDetail(c.Request.Context(), u)
	if err != nil {
		h.writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, v)
}

// resetUserMFA is POST /admin/users/{id}/mfa/reset, the API twin of
// `sesame users mfa reset`: every second factor and recovery code of the
// user is removed (audited as mfa.reset).
func (h *Handler) resetUserMFA(c *gin.Context) {
	ctx := c.Request.Context()
	u, err := h.svc.GetUser(ctx, c.Param("id"))
	if err != nil {
		h.writeError(c, err)
		return
	}
	if _, err := h.svc.ResetFactors(ctx, actor(c), u); err != nil {
		h.writeError(c, err)
		return
	}
	v, err := h.svc.UserDetail(ctx, u)
	if err != nil {
		h.writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, v)
}

// patchUser edits the profile (email, email_verified, name) and, through
// app's DisableUser/EnableUser, the disabled flag (disabling revokes the
// user's sessions and tokens). Everything is validated before anything is
// written; the profile change and the flag change are one transaction.
func (h *Handler) patchUser(c *gin.Context) {
	var in userPatchInput
	if err := decodeJSON(c, &in, true, "invalid_request"); err != nil {
		h.writeError(c, err)
		return
	}
	ctx := c.Request.Context()
	var prof profileChange
	if in.Email != nil {
		e, err := app.CheckEmail(*in.Email)
		if err != nil {
			h.writeError(c, err)
			return
		}
		prof.email = &e
	}
	if in.Name != nil {
		n, err := app.CheckText("name", *in.Name, 200)
		if err != nil {
			h.writeError(c, err)
			return
		}
		prof.name = &n
	}
	prof.emailVerified = in.EmailVerified
	var out storage.User
	err := storage.InTx(ctx, h.store, func(ctx context.Context) error {
		u, err := h.svc.GetUser(ctx, c.Param("id"))
		if err != nil {
			return err
		}
		if !prof.empty() {
			if u, err = h.updateProfile(ctx, actor(c), u, prof); err != nil {
				return err
			}
		}
		switch {
		case in.Disabled == nil || *in.Disabled == u.Disabled:
		case *in.Disabled:
			u, err = h.svc.DisableUser(ctx, actor(c), u.ID)
		default:
			u, err = h.svc.EnableUser(ctx, actor(c), u.ID)
		}
		out = u
		return err
	})
	if err != nil {
		h.writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, app.NewUserView(out))
}

type profileChange struct {
	email, name   *string
	emailVerified *bool
}

func (p profileChange) empty() bool { return p.email == nil && p.name == nil && p.emailVerified == nil }

// updateProfile writes a validated profile change with its audit event.
// (app has no profile-edit use case; this is the one written here.)
func (h *Handler) updateProfile(ctx context.Context, actor string, u storage.User, p profileChange) (storage.User, error) {
	changed := map[string]string{}
	if p.email != nil && *p.email != u.Email {
		u.Email = *p.email
		// A new address has not been verified unless the caller says so.
		u.EmailVerified = false
		changed["email"] = "changed"
	}
	if p.emailVerified != nil {
		u.EmailVerified = *p.emailVerified && u.Email != ""
		changed["email_verified"] = fmt.Sprint(u.EmailVerified)
	}
	if p.name != nil && *p.name != u.Name {
		u.Name = *p.name
		changed["name"] = "changed"
	}
	if len(changed) == 0 {
		return u, nil
	}
	u.UpdatedAt = h.now().UTC().Truncate(time.Microsecond)
	if err := h.store.UpdateUser(ctx, u); err != nil {
		return storage.User{}, fmt.Errorf("update user: %w", err)
	}
	return u, h.audit(ctx, actor, "user.updated", "", u.ID, changed)
}

func (h *Handler) deleteUser(c *gin.Context) {
	if err := h.svc.DeleteUser(c.Request.Context(), actor(c), c.Param("id")); err != nil {
		h.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// disableUser stops the user from logging in and revokes their sessions
// and tokens.
func (h *Handler) disableUser(c *gin.Context) {
	u, err := h.svc.DisableUser(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		h.writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, app.NewUserView(u))
}

func (h *Handler) setPassword(c *gin.Context) {
	var in struct {
		Password string `json:"password"`
	}
	if err := decodeJSON(c, &in, true, "invalid_request"); err != nil {
		h.writeError(c, err)
		return
	}
	if err := h.svc.SetPassword(c.Request.Context(), actor(c), c.Param("id"), in.Password); err != nil {
		h.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

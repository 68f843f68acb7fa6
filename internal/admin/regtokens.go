package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// Bounds of an initial access token.
const (
	DefaultRegistrationTokenTTL = 24 * time.Hour
	MaxRegistrationTokenTTL     = 365 * 24 * time.Hour
	// registrationTokenPrefix lets secret scanners and people recognise a
	// leaked initial access token.
	registrationTokenPrefix = "sesame_iat_"
)

// NewRegistrationToken is the input of CreateRegistrationToken.
type NewRegistrationToken struct {
	Description string
	ExpiresIn   time.Duration // 0 = DefaultRegistrationTokenTTL
	MaxUses     int           // 0 = unlimited
}

// RegistrationTokenView is an RFC 7591 initial access token as the CLI's
// --json and the admin API show it. ID is the SHA-256 of the token (what is
// stored); Token, the bearer value, is set only in the answer that created
// it.
type RegistrationTokenView struct {
	ID          string    `json:"id"`
	Token       string    `json:"token,omitempty"`
	Description string    `json:"description"`
	MaxUses     int       `json:"max_uses"`
	Uses        int       `json:"uses"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
}

func newRegistrationTokenView(t storage.RegistrationToken, token string) RegistrationTokenView {
	return RegistrationTokenView{ID: t.ID, Token: token, Description: t.Description, MaxUses: t.MaxUses,
		Uses: t.Uses, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}
}

// CreateRegistrationToken creates an initial access token for dynamic
// client registration and records it in the audit log as actor did it. The
// token (256 random bits) is returned in clear once; only its hash is
// stored. The CLI (`sesame clients registration-token create`) and POST
// /admin/registration-tokens both call it.
func CreateRegistrationToken(ctx context.Context, st storage.Store, actor string, in NewRegistrationToken, now time.Time) (RegistrationTokenView, error) {
	if in.ExpiresIn == 0 {
		in.ExpiresIn = DefaultRegistrationTokenTTL
	}
	if in.ExpiresIn < time.Minute || in.ExpiresIn > MaxRegistrationTokenTTL {
		return RegistrationTokenView{}, &app.ValidationError{Field: "expires_in", Value: in.ExpiresIn.String(),
			Reason: fmt.Sprintf("must be between 1m and %s", MaxRegistrationTokenTTL)}
	}
	if in.MaxUses < 0 {
		return RegistrationTokenView{}, &app.ValidationError{Field: "max_uses", Value: fmt.Sprint(in.MaxUses),
			Reason: "must not be negative (0 = unlimited)"}
	}
	desc, err := app.CheckText("description", in.Description, 200)
	if err != nil {
		return RegistrationTokenView{}, err
	}
	raw, err := secret.RandomToken(32)
	if err != nil {
		return RegistrationTokenView{}, fmt.Errorf("registration token: %w", err)
	}
	token := registrationTokenPrefix + raw
	now = now.UTC().Truncate(time.Second)
	t := storage.RegistrationToken{ID: secret.HashToken(token), Description: desc, MaxUses: in.MaxUses,
		CreatedAt: now, ExpiresAt: now.Add(in.ExpiresIn)}
	err = storage.InTx(ctx, st, func(ctx context.Context) error {
		if err := st.CreateRegistrationToken(ctx, t); err != nil {
			return fmt.Errorf("create registration token: %w", err)
		}
		return st.AppendAudit(ctx, storage.AuditEvent{At: now, Type: "registration_token.created", Actor: actor,
			Outcome: "success", Details: map[string]string{"id": t.ID, "max_uses": fmt.Sprint(t.MaxUses), "expires_at": t.ExpiresAt.Format(time.RFC3339)}})
	})
	if err != nil {
		return RegistrationTokenView{}, err
	}
	return newRegistrationTokenView(t, token), nil
}

func (h *Handler) createRegistrationToken(c *gin.Context) {
	var in struct {
		Description string `json:"description"`
		ExpiresIn   int64  `json:"expires_in"` // seconds
		MaxUses     int    `json:"max_uses"`
	}
	if err := decodeJSON(c, &in, true, "invalid_request"); err != nil {
		h.writeError(c, err)
		return
	}
	if in.ExpiresIn < 0 || in.ExpiresIn > int64(MaxRegistrationTokenTTL/time.Second) {
		h.writeError(c, badRequest("expires_in: must be a number of seconds between 60 and %d", int64(MaxRegistrationTokenTTL/time.Second)))
		return
	}
	v, err := CreateRegistrationToken(c.Request.Context(), h.store, actor(c), NewRegistrationToken{
		Description: in.Description, ExpiresIn: time.Duration(in.ExpiresIn) * time.Second, MaxUses: in.MaxUses,
	}, h.now())
	if err != nil {
		h.writeError(c, err)
		return
	}
	writeJSON(c, http.StatusCreated, v)
}

// listRegistrationTokens lists every initial access token, newest first
// (there are few; the list is not paged).
func (h *Handler) listRegistrationTokens(c *gin.Context) {
	ts, err := h.store.ListRegistrationTokens(c.Request.Context())
	if err != nil {
		h.writeError(c, fmt.Errorf("list registration tokens: %w", err))
		return
	}
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].CreatedAt.After(ts[j].CreatedAt) })
	writeJSON(c, http.StatusOK, page[RegistrationTokenView]{Items: mapSlice(ts, func(t storage.RegistrationToken) RegistrationTokenView {
		return newRegistrationTokenView(t, "")
	})})
}

func (h *Handler) deleteRegistrationToken(c *gin.Context) {
	id := c.Param("id")
	err := storage.InTx(c.Request.Context(), h.store, func(ctx context.Context) error {
		if err := h.store.DeleteRegistrationToken(ctx, id); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return &apiError{Status: http.StatusNotFound, Code: "not_found", Description: fmt.Sprintf("registration token %q not found", id)}
			}
			return fmt.Errorf("delete registration token: %w", err)
		}
		return h.audit(ctx, actor(c), "registration_token.deleted", "", "", map[string]string{"id": id})
	})
	if err != nil {
		h.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

package app

import (
	"context"
	"fmt"
	"time"

	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// RegistrationTokenStore is what CreateRegistrationToken writes: the token
// and its audit row, in one transaction.
type RegistrationTokenStore interface {
	storage.Transactor
	CreateRegistrationToken(ctx context.Context, t storage.RegistrationToken) error
	AppendAudit(ctx context.Context, e storage.AuditEvent) error
}

// Bounds of an initial access token.
const (
	DefaultRegistrationTokenTTL = 24 * time.Hour
	MaxRegistrationTokenTTL     = 365 * 24 * time.Hour
	// RegistrationTokenPrefix lets secret scanners and people recognise a
	// leaked initial access token.
	RegistrationTokenPrefix = "sesame_iat_"
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

func NewRegistrationTokenView(t storage.RegistrationToken, token string) RegistrationTokenView {
	return RegistrationTokenView{ID: t.ID, Token: token, Description: t.Description, MaxUses: t.MaxUses,
		Uses: t.Uses, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}
}

// CreateRegistrationToken creates an initial access token for dynamic
// client registration and records it in the audit log as actor did it. The
// token (256 random bits) is returned in clear once; only its hash is
// stored. The CLI (`sesame clients registration-token create`) and POST
// /admin/registration-tokens both call it: a use case of app, so the CLI
// needs nothing of the admin API.
func CreateRegistrationToken(ctx context.Context, st RegistrationTokenStore, actor string, in NewRegistrationToken, now time.Time) (RegistrationTokenView, error) {
	if in.ExpiresIn == 0 {
		in.ExpiresIn = DefaultRegistrationTokenTTL
	}
	if in.ExpiresIn < time.Minute || in.ExpiresIn > MaxRegistrationTokenTTL {
		return RegistrationTokenView{}, &ValidationError{Field: "expires_in", Value: in.ExpiresIn.String(),
			Reason: fmt.Sprintf("must be between 1m and %s", MaxRegistrationTokenTTL)}
	}
	if in.MaxUses < 0 {
		return RegistrationTokenView{}, &ValidationError{Field: "max_uses", Value: fmt.Sprint(in.MaxUses),
			Reason: "must not be negative (0 = unlimited)"}
	}
	desc, err := CheckText("description", in.Description, 200)
	if err != nil {
		return RegistrationTokenView{}, err
	}
	raw, err := secret.RandomToken(32)
	if err != nil {
		return RegistrationTokenView{}, fmt.Errorf("registration token: %w", err)
	}
	token := RegistrationTokenPrefix + raw
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
	return NewRegistrationTokenView(t, token), nil
}

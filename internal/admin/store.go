package admin

import (
	"context"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
)

// Store is what the admin API reads and writes; storage.Store (the wiring
// type) satisfies it. Most of the API runs app's use cases on this store
// (through auditOriginStore and app.Service.WithStore); the calls it makes
// itself — the caller's client, a user's consents, profile edits, its own
// audit events, all in app.Store too — add only the two aggregates below.
type Store interface {
	// Handed to app.Service.WithStore, wrapped by auditOriginStore.
	app.Store

	// Initial access tokens: created (app.CreateRegistrationToken), used
	// by RFC 7591 registration, listed and deleted by the admin API.
	storage.RegistrationTokenStore

	// The public JWK of each signing key in GET /admin/keys and
	// POST /admin/keys/rotate (keys.Info carries none).
	ListKeys(ctx context.Context) ([]storage.SigningKey, error)
}

var _ Store = storage.Store(nil)

package oidc

import (
	"context"

	"github.com/sesameauth/sesame/storage"
)

// Store is what the front channel reads and writes itself; storage.Store
// (the wiring type) satisfies it. Tokens, sessions and keys are reached
// through oauth, internal/session and internal/keys.
type Store interface {
	// The authorization request's flow, handed to the login and consent
	// pages and back (session.LoadFlow takes the whole flow aggregate).
	storage.FlowStore

	// The session's user (gone or disabled: no session) and userinfo's
	// claims, the client of a logout request, and the consent already
	// given (no consent page when it covers the request).
	GetUser(ctx context.Context, id string) (storage.User, error)
	GetClient(ctx context.Context, id string) (storage.Client, error)
	GetConsent(ctx context.Context, userID, clientID string) (storage.Consent, error)
}

var _ Store = storage.Store(nil)

package web

import (
	"context"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// Store is what the web UI reads and writes itself; storage.Store (the
// wiring type) satisfies it. Everything else — passwords, revocation,
// sign-up, factors — goes through internal/app.
type Store interface {
	// The sign-in flows the pages advance (session.LoadFlow takes the
	// whole flow aggregate; the pages move a flow to its next state).
	storage.FlowStore

	// Building Passwords when Deps.Passwords is nil (app.NewPasswords).
	storage.Transactor
	GetUserByUsername(ctx context.Context, username string) (storage.User, error)
	UpdateUser(ctx context.Context, u storage.User) error
	RecordLogin(ctx context.Context, id string, at time.Time) error

	// The signed-in user and the app shown on the login, consent,
	// device, second-factor and account pages.
	GetUser(ctx context.Context, id string) (storage.User, error)
	GetClient(ctx context.Context, id string) (storage.Client, error)
	// The consent page: the registered API behind an audience, and the
	// decision it remembers.
	GetResourceByURI(ctx context.Context, uri string) (storage.Resource, error)
	UpsertConsent(ctx context.Context, c storage.Consent) error

	// The account page: the apps a user has let in and their sign-ins.
	ListGrants(ctx context.Context, f storage.GrantFilter) ([]storage.Grant, error)
	ListConsents(ctx context.Context, userID string) ([]storage.Consent, error)
	ListUserSessions(ctx context.Context, userID string, now time.Time) ([]storage.LoginSession, error)
	RevokeUserSessions(ctx context.Context, userID string, at time.Time) (int, error)

	// One-time upstream sign-in state (replay) and the pages' audit events.
	ClaimNonce(ctx context.Context, ns, value string, exp time.Time) error
	AppendAudit(ctx context.Context, e storage.AuditEvent) error
}

var _ Store = storage.Store(nil)

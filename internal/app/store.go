package app

import (
	"context"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// Store is what the use cases read and write: a Service's store.
// storage.Store (the wiring type) satisfies it, and so does the admin
// API's wrapper that stamps audit events with the caller (WithStore). As
// the one owner of accounts, clients and access rules this layer uses
// most aggregates, but not the protocol's own records (tokens by
// signature, nonces, keys, flows, device grants, registration tokens).
// The narrower stores of one use case sit next to it: passwordStore
// (passwords.go), factorStore (factors.go), RegistrationTokenStore
// (regtokens.go), deviceStore (below).
type Store interface {
	// Every change runs in one transaction with its audit event (inTx).
	storage.Transactor
	// The audit trail, written with every change and read by `sesame
	// audit` and the admin API; with the throttle counters also the
	// guard that unlocks an account (throttle.New takes both aggregates).
	storage.AuditStore
	storage.ThrottleStore

	// Clients, groups, registered APIs and upstream identities are
	// administered here in full.
	storage.ClientStore
	storage.GroupStore
	storage.ResourceStore
	storage.IdentityStore

	// Users: administration, sign-up, import, profile and federation
	// (every method of storage.UserStore but CountUsers).
	CreateUser(ctx context.Context, u storage.User) error
	GetUser(ctx context.Context, id string) (storage.User, error)
	GetUserByUsername(ctx context.Context, username string) (storage.User, error)
	UpdateUser(ctx context.Context, u storage.User) error
	DeleteUser(ctx context.Context, id string) error
	RecordLogin(ctx context.Context, id string, at time.Time) error
	ListUsers(ctx context.Context, o storage.ListOptions) ([]storage.User, string, error)

	// Mailed links (email verification, change and password reset) and
	// the mail that carries them; ListMail for `sesame mail list`.
	CreateLinkToken(ctx context.Context, t storage.LinkToken) error
	GetLinkToken(ctx context.Context, hash, purpose string, now time.Time) (storage.LinkToken, error)
	UseLinkToken(ctx context.Context, hash, purpose string, now time.Time) (storage.LinkToken, error)
	DeleteUserLinkTokens(ctx context.Context, userID, purpose string) (int, error)
	EnqueueMail(ctx context.Context, m storage.Mail) error
	ListMail(ctx context.Context, limit int) ([]storage.Mail, error)

	// Revoking a user's or a client's access (grants, their codes,
	// consents, sessions) and listing what a user has granted.
	ListGrants(ctx context.Context, f storage.GrantFilter) ([]storage.Grant, error)
	RevokeGrants(ctx context.Context, f storage.GrantFilter, reason string, at time.Time) ([]string, error)
	DeactivateByRequestID(ctx context.Context, kind storage.TokenKind, requestID string) (int, error)
	ListConsents(ctx context.Context, userID string) ([]storage.Consent, error)
	DeleteConsent(ctx context.Context, userID, clientID string) error
	DeleteConsentsByClient(ctx context.Context, clientID string) (int, error)
	GetSession(ctx context.Context, id string) (storage.LoginSession, error)
	RevokeSession(ctx context.Context, id string, at time.Time) error
	RevokeUserSessions(ctx context.Context, userID string, at time.Time) (int, error)

	// Second factors as an operator sees and resets them.
	ListFactors(ctx context.Context, userID string) ([]storage.Factor, error)
	DeleteUserFactors(ctx context.Context, userID string) (int, error)
}

// deviceStore is what the device verification page's use cases need
// (Devices): the pending request of a user code, its client, and the
// audited decision in one transaction.
type deviceStore interface {
	storage.Transactor
	GetDeviceGrantByUserCode(ctx context.Context, userCodeHash string) (storage.DeviceGrant, error)
	DecideDeviceGrant(ctx context.Context, userCodeHash string, d storage.DeviceDecision) (storage.DeviceGrant, error)
	GetClient(ctx context.Context, id string) (storage.Client, error)
	AppendAudit(ctx context.Context, e storage.AuditEvent) error
}

var (
	_ Store       = storage.Store(nil)
	_ deviceStore = storage.Store(nil)
)

// Package storage defines Sesame's domain records and the storage interfaces
// the server needs. It imports nothing protocol-specific: fosite requests are
// mapped to these plain records in package oauth, and every secret value
// (client secrets, token signatures, session ids) reaches storage already
// hashed by the caller, so a backend never sees a usable credential.
//
// Backends live in storage/postgres and storage/sqlite; both must pass the
// conformance suite in storage/storagetest.
package storage

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Sentinel errors. Backends wrap driver errors so that callers can use
// errors.Is with these; anything else is an infrastructure failure
// (database down, timeout) and must surface as a 5xx, never as a protocol
// error that makes a client throw its credentials away.
var (
	// ErrNotFound: no row matched.
	ErrNotFound = errors.New("storage: not found")
	// ErrConflict: a uniqueness constraint or a conditional update lost
	// (duplicate username/client id, a token already rotated by a
	// concurrent request, a nonce already claimed).
	ErrConflict = errors.New("storage: conflict")
)

// ListOptions selects one page of a list. Lists are ordered by a stable key
// and the cursor is opaque to callers: pass back NextCursor to get the next
// page; an empty NextCursor means the last page was reached.
type ListOptions struct {
	Limit  int    // <= 0 means the backend default (50); capped at 500
	Cursor string // opaque; "" for the first page
	Query  string // case-insensitive substring filter (username/email/name for users, name for clients)
}

// DefaultListLimit and MaxListLimit bound ListOptions.Limit.
const (
	DefaultListLimit = 50
	MaxListLimit     = 500
)

// EffectiveLimit applies the default and cap to a requested limit.
func (o ListOptions) EffectiveLimit() int {
	switch {
	case o.Limit <= 0:
		return DefaultListLimit
	case o.Limit > MaxListLimit:
		return MaxListLimit
	}
	return o.Limit
}

// User is a resource owner. ID is a stable random id (the `sub` of tokens);
// Username is unique case-insensitively but stored as typed.
type User struct {
	ID            string
	Username      string
	Email         string
	EmailVerified bool
	Name          string
	PasswordHash  string // self-describing argon2id encoding, see internal/password
	Disabled      bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// LastLoginAt is the last successful password sign-in (imported from
	// Django's last_login); nil: never. RecordLogin sets it.
	LastLoginAt *time.Time
}

// ClientLifespans overrides the server's token lifetimes for one client.
// Zero means "use the server default".
type ClientLifespans struct {
	AccessToken  time.Duration
	RefreshToken time.Duration
	IDToken      time.Duration
	AuthCode     time.Duration
}

// Client is a registered OAuth client.
type Client struct {
	ID         string
	SecretHash string // "" for public clients; keyed fast hash, see internal/app
	// RotatedSecretHashes are previous secrets still accepted until
	// their expiry (zero-downtime rotation); may be empty.
	RotatedSecretHashes     []string
	Name                    string
	Description             string
	RedirectURIs            []string
	PostLogoutRedirectURIs  []string
	GrantTypes              []string
	ResponseTypes           []string
	Scopes                  []string
	Audience                []string
	TokenEndpointAuthMethod string // client_secret_basic | client_secret_post | none | private_key_jwt
	Public                  bool
	SkipConsent             bool
	// RequireMFA: the client's authorizations need two factors (SPEC
	// part two, `clients create --require-mfa`).
	RequireMFA               bool
	AccessTokenFormat        string // "" (server default) | "jwt" | "opaque"
	AllowedCORSOrigins       []string
	LogoURI                  string
	ClientURI                string
	PolicyURI                string
	TermsURI                 string
	Contacts                 []string
	JWKS                     string // inline JWK Set JSON for private_key_jwt, "" if none
	JWKSURI                  string
	IDTokenSignedResponseAlg string // "" = server default
	Lifespans                ClientLifespans
	// RegistrationTokenHash is the hash of the RFC 7592 registration access
	// token, "" for clients not created by dynamic registration.
	RegistrationTokenHash string
	// Metadata holds extra registration metadata as a JSON object ("" = none).
	Metadata string
	// RequirePushedAuthorizationRequests: the client's authorization
	// requests must come through PAR (RFC 9126 §6).
	RequirePushedAuthorizationRequests bool
	// TokenExchangeAudiences are the audiences (or registered resource
	// URIs) this client may obtain by RFC 8693 token exchange; empty: none.
	TokenExchangeAudiences []string
	CreatedAt              time.Time
	UpdatedAt              time.Time
}

// FromMetadataDocument reports a client resolved from a client ID
// metadata document (internal/cimd): its id is a URL, which a registered
// client's id ([A-Za-z0-9._~-]) can never be. Such a client is never
// stored; nobody vouched for its name or logo, and it may ask for every
// registered API, so its Audience lists them all and is not its default.
func (c Client) FromMetadataDocument() bool { return strings.Contains(c.ID, "://") }

// TokenKind names what a TokenRecord is. Each kind is its own key space.
type TokenKind string

const (
	KindAuthorizeCode TokenKind = "authorize_code"
	KindAccessToken   TokenKind = "access_token"
	KindRefreshToken  TokenKind = "refresh_token"
	KindPKCE          TokenKind = "pkce"
	KindOIDC          TokenKind = "oidc"
)

// TokenRecord is one stored credential (code, access/refresh token, PKCE or
// OIDC request) keyed by (Kind, Signature). Signature is a hash computed by
// the caller; RequestID is the grant family shared by every record issued in
// one authorization chain.
type TokenRecord struct {
	Kind        TokenKind
	Signature   string
	RequestID   string
	ClientID    string
	Subject     string
	Active      bool
	RequestedAt time.Time
	ExpiresAt   time.Time
	// Data is the serialized (and possibly encrypted) protocol request; the
	// backend stores it verbatim.
	Data []byte
	// AccessSignature links a refresh token to the access token issued with it.
	AccessSignature string
	// FirstUsedAt is set once, when a refresh token is rotated (nil before).
	FirstUsedAt *time.Time
	// Successor is opaque data the caller stores when it rotates a refresh
	// token (e.g. the encrypted pair it issued) so that a retry within the
	// grace window can be answered idempotently. Empty when unset.
	Successor []byte
	// ClientRevokedAt is read-only, filled by GetToken (only): the
	// revocation instant of the record's client
	// (GrantStore.ClientTokensRevokedAt), zero when none. CreateToken and
	// CreateTokens ignore it; other reads leave it zero. One read answers
	// both "which token" and "were its client's tokens revoked", which is
	// what introspection of opaque tokens asks on every request.
	ClientRevokedAt time.Time
}

// TokenStore keeps token records.
type TokenStore interface {
	// CreateToken inserts a record; ErrConflict if (Kind, Signature) exists.
	CreateToken(ctx context.Context, rec TokenRecord) error
	// CreateTokens inserts every record in one commit (the transaction of
	// ctx when it carries one): all or none. It is the group commit behind
	// concurrent token issuance — one WAL flush and, on Postgres, one round
	// trip for the whole batch. ErrConflict if any (Kind, Signature) exists
	// (nothing is inserted then); an empty batch does nothing.
	CreateTokens(ctx context.Context, recs []TokenRecord) error
	// GetToken returns the record whatever its Active flag, with
	// ClientRevokedAt filled in the same read; ErrNotFound if absent.
	GetToken(ctx context.Context, kind TokenKind, signature string) (TokenRecord, error)
	// DeleteToken removes a record; deleting a missing record is not an error.
	DeleteToken(ctx context.Context, kind TokenKind, signature string) error
	// DeactivateToken sets Active=false only if the record is currently
	// active, stamping FirstUsedAt (if still nil) with at and storing
	// successor (if non-nil). It returns ErrConflict when the record exists
	// but was already inactive (another request won the race) and ErrNotFound
	// when it does not exist. Exactly one of several concurrent callers wins.
	DeactivateToken(ctx context.Context, kind TokenKind, signature string, at time.Time, successor []byte) error
	// DeactivateByRequestID sets Active=false on every record of the kind in
	// the grant family; returns how many rows changed.
	DeactivateByRequestID(ctx context.Context, kind TokenKind, requestID string) (int, error)
	// DeleteByRequestID deletes every record of the kind in the family.
	DeleteByRequestID(ctx context.Context, kind TokenKind, requestID string) (int, error)
	// ListByRequestID lists a family's records of one kind, oldest first.
	ListByRequestID(ctx context.Context, kind TokenKind, requestID string) ([]TokenRecord, error)
	// DeleteExpiredTokens deletes up to limit records (any kind) whose
	// ExpiresAt is before `before`; returns how many were deleted.
	DeleteExpiredTokens(ctx context.Context, before time.Time, limit int) (int, error)
}

// Grant is a grant family: everything issued from one authorization
// (fosite's request id). Revocation lives here so that JWT access tokens,
// which have no row of their own, are revoked with their family.
type Grant struct {
	RequestID    string
	ClientID     string
	Subject      string // user id, or client id for client_credentials
	SessionID    string // login session that created it ("" if none)
	GrantType    string
	Scopes       []string
	Audience     []string
	CreatedAt    time.Time
	LastUsedAt   time.Time
	ExpiresAt    time.Time // when the longest-lived token of the family expires
	RevokedAt    *time.Time
	RevokeReason string
}

// GrantFilter selects grants; empty fields do not filter.
type GrantFilter struct {
	Subject    string
	ClientID   string
	ActiveOnly bool // not revoked and not expired at Now
	Now        time.Time
}

// GrantStore keeps grant families.
type GrantStore interface {
	// CreateGrant inserts a grant; if one with the same RequestID exists it
	// is left unchanged and no error is returned (refresh re-uses the id).
	CreateGrant(ctx context.Context, g Grant) error
	GetGrant(ctx context.Context, requestID string) (Grant, error)
	// LockGrant holds the grant's row until the caller's transaction ends,
	// so that every write to one family (refresh, revocation) queues in the
	// same order: the grant first, then its tokens (two paths locking them
	// in opposite orders deadlock on Postgres). Outside a transaction it
	// only checks that the grant exists. ErrNotFound if absent.
	LockGrant(ctx context.Context, requestID string) error
	// TouchGrant sets LastUsedAt and raises ExpiresAt to at least expiresAt.
	TouchGrant(ctx context.Context, requestID string, lastUsed, expiresAt time.Time) error
	// RevokeGrant marks one grant revoked (idempotent: an already revoked
	// grant keeps its first RevokedAt); ErrNotFound if absent.
	RevokeGrant(ctx context.Context, requestID, reason string, at time.Time) error
	// RevokeGrants revokes every unrevoked grant matching the filter and
	// returns their request ids.
	RevokeGrants(ctx context.Context, f GrantFilter, reason string, at time.Time) ([]string, error)
	ListGrants(ctx context.Context, f GrantFilter) ([]Grant, error)
	// DeleteExpiredGrants deletes up to limit grants with ExpiresAt before `before`.
	DeleteExpiredGrants(ctx context.Context, before time.Time, limit int) (int, error)

	// Client-wide revocation. client_credentials tokens have no grant row
	// (one write per opaque token, none per JWT); what revokes them
	// together is a per-client instant: every such token of the client
	// issued at or before it is revoked. RevokeGrants with a ClientID and
	// no Subject also records that instant (at) in the same transaction,
	// so "revoke everything of client X" reaches grantless tokens too.
	//
	// RevokeClientTokens records at as the client's revocation instant,
	// keeping the later of at and any instant already recorded.
	RevokeClientTokens(ctx context.Context, clientID string, at time.Time) error
	// ClientTokensRevokedAt returns the client's revocation instant, or the
	// zero time (and no error) when none was recorded.
	ClientTokensRevokedAt(ctx context.Context, clientID string) (time.Time, error)
}

// NonceStore records one-time values in namespaces until they expire:
// client-assertion jti (replay protection) and the JWT access-token jti
// denylist.
type NonceStore interface {
	// ClaimNonce records (ns, value) until exp. It returns ErrConflict if an
	// unexpired entry exists (expired entries are replaced). Exactly one of
	// several concurrent callers wins.
	ClaimNonce(ctx context.Context, ns, value string, exp time.Time) error
	// NonceExists reports whether an unexpired entry exists at now.
	NonceExists(ctx context.Context, ns, value string, now time.Time) (bool, error)
	DeleteExpiredNonces(ctx context.Context, before time.Time, limit int) (int, error)
}

// Nonce namespaces.
const (
	NonceClientAssertion = "client_assertion"
	NonceJWTDenylist     = "jwt_denylist"
	// NonceWebAuthnChallenge makes each WebAuthn challenge usable once.
	NonceWebAuthnChallenge = "webauthn_challenge"
)

// KeyState is the life cycle of a signing key.
type KeyState string

const (
	KeyPending KeyState = "pending" // published in the JWKS, not yet signing
	KeyActive  KeyState = "active"  // signs new tokens; one per algorithm
	KeyRetired KeyState = "retired" // published until RetireAfter, no longer signs
)

// SigningKey is one asymmetric signing key; the private part is encrypted
// by the caller before it reaches storage.
type SigningKey struct {
	KID         string
	Alg         string
	Use         string // "sig"
	State       KeyState
	PublicJWK   []byte // JSON, public part only
	PrivateEnc  []byte // encrypted private JWK
	CreatedAt   time.Time
	ActivatedAt *time.Time
	RetiredAt   *time.Time
	// RetireAfter: once retired, the key leaves the JWKS after this time
	// (when every token it signed has expired). Nil while pending/active.
	RetireAfter *time.Time
}

// KeyStore keeps signing keys.
type KeyStore interface {
	CreateKey(ctx context.Context, k SigningKey) error // ErrConflict on duplicate kid
	GetKey(ctx context.Context, kid string) (SigningKey, error)
	ListKeys(ctx context.Context) ([]SigningKey, error) // every state, oldest first
	// ActivateKey atomically makes kid (which must be pending) the active
	// key of its algorithm and retires the previously active key of that
	// algorithm with RetiredAt=at and RetireAfter=retireAfter. prevKID is
	// the active key the caller saw ("" if none); if the current active key
	// differs (another instance rotated first) or kid is no longer pending,
	// nothing changes and ErrConflict is returned.
	ActivateKey(ctx context.Context, kid, prevKID string, at, retireAfter time.Time) error
	// DeleteKey removes a key (used once a retired key is past RetireAfter).
	DeleteKey(ctx context.Context, kid string) error
}

// LoginSession is a browser single-sign-on session. ID is the hash of the
// cookie value.
type LoginSession struct {
	ID        string
	UserID    string
	AuthTime  time.Time // time of the last password check
	AMR       []string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time
	// UserAgent is the browser's User-Agent at login (truncated), shown in
	// the user's list of sessions on /account.
	UserAgent string
}

// SessionStore keeps login sessions.
type SessionStore interface {
	CreateSession(ctx context.Context, s LoginSession) error
	GetSession(ctx context.Context, id string) (LoginSession, error)
	RevokeSession(ctx context.Context, id string, at time.Time) error
	// ExtendSession moves the ExpiresAt of an unrevoked session to
	// expiresAt (the idle timeout slides with activity); ErrNotFound if
	// the session is absent or revoked.
	ExtendSession(ctx context.Context, id string, expiresAt time.Time) error
	// RevokeUserSessions revokes every unrevoked session of a user; returns the count.
	RevokeUserSessions(ctx context.Context, userID string, at time.Time) (int, error)
	// ListUserSessions lists the user's sessions that are unrevoked and
	// unexpired at now, newest first.
	ListUserSessions(ctx context.Context, userID string, now time.Time) ([]LoginSession, error)
	DeleteExpiredSessions(ctx context.Context, before time.Time, limit int) (int, error)
}

// Consent is a remembered authorization of a client by a user.
type Consent struct {
	UserID    string
	ClientID  string
	Scopes    []string
	Audience  []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ConsentStore keeps remembered consents, one per (user, client).
type ConsentStore interface {
	// UpsertConsent creates or replaces the consent of (UserID, ClientID).
	UpsertConsent(ctx context.Context, c Consent) error
	GetConsent(ctx context.Context, userID, clientID string) (Consent, error)
	ListConsents(ctx context.Context, userID string) ([]Consent, error)
	DeleteConsent(ctx context.Context, userID, clientID string) error // ErrNotFound if absent
	// DeleteConsentsByClient removes every user's consent to clientID and
	// returns how many it removed (0, not ErrNotFound, when none). Deleting
	// a client calls it so that a later client re-using the id does not
	// inherit consent it was never given.
	DeleteConsentsByClient(ctx context.Context, clientID string) (int, error)
}

// AuthFlow carries one authorization request across the login and consent
// pages. ID is a hash of the random flow handle given to the browser.
type AuthFlow struct {
	ID        string
	ClientID  string
	UserID    string // "" until login
	SessionID string // login session, "" until login
	State     string // free-form state machine owned by the caller
	Request   []byte // serialized authorize request (opaque to storage)
	CreatedAt time.Time
	ExpiresAt time.Time
}

// FlowStore keeps authorization flows.
type FlowStore interface {
	CreateFlow(ctx context.Context, f AuthFlow) error
	GetFlow(ctx context.Context, id string) (AuthFlow, error)
	// UpdateFlowState moves a flow from state `from` to the new values of f
	// (UserID, SessionID, State, Request) only if its current state is
	// `from`; ErrConflict otherwise (a replayed form), ErrNotFound if absent.
	UpdateFlowState(ctx context.Context, f AuthFlow, from string) error
	DeleteFlow(ctx context.Context, id string) error
	DeleteExpiredFlows(ctx context.Context, before time.Time, limit int) (int, error)
}

// AuditEvent is one append-only audit record.
type AuditEvent struct {
	ID        int64 // assigned by the store
	At        time.Time
	Type      string // e.g. "user.created", "client.secret_rotated", "token.revoked"
	Actor     string // "cli", "admin:<client>", "user:<id>", "system"
	ClientID  string
	UserID    string
	IP        string
	UserAgent string
	Outcome   string // "success" | "failure"
	Details   map[string]string
}

// AuditFilter selects audit events, newest first. Empty fields do not filter.
type AuditFilter struct {
	Type     string
	ClientID string
	UserID   string
	Since    time.Time
	Until    time.Time
	Limit    int
	Cursor   string
}

// AuditStore keeps audit events.
type AuditStore interface {
	AppendAudit(ctx context.Context, e AuditEvent) error
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, string, error)
	DeleteAuditBefore(ctx context.Context, before time.Time, limit int) (int, error)
}

// RegistrationToken is an RFC 7591 initial access token. ID is the hash of
// the bearer value.
type RegistrationToken struct {
	ID          string
	Description string
	MaxUses     int // 0 = unlimited
	Uses        int
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// RegistrationTokenStore keeps initial access tokens.
type RegistrationTokenStore interface {
	CreateRegistrationToken(ctx context.Context, t RegistrationToken) error
	// UseRegistrationToken atomically counts one use of an unexpired token
	// with uses left; ErrNotFound if absent, expired or used up.
	UseRegistrationToken(ctx context.Context, id string, now time.Time) (RegistrationToken, error)
	ListRegistrationTokens(ctx context.Context) ([]RegistrationToken, error)
	DeleteRegistrationToken(ctx context.Context, id string) error // ErrNotFound if absent
}

// FailureCounter counts failed authentications for one key (e.g.
// "user:<id>" or "ip:<addr>") so brute-force locks hold across instances.
type FailureCounter struct {
	Key         string
	Failures    int
	FirstAt     time.Time
	LastAt      time.Time
	LockedUntil *time.Time
}

// ThrottleStore keeps failure counters.
type ThrottleStore interface {
	// RecordFailure atomically increments the counter of key (creating it)
	// and returns the new state. A counter whose LastAt is before resetBefore
	// starts again from 1.
	RecordFailure(ctx context.Context, key string, at, resetBefore time.Time) (FailureCounter, error)
	// SetLock sets LockedUntil on an existing counter; ErrNotFound if absent.
	SetLock(ctx context.Context, key string, until time.Time) error
	// GetFailures returns the counter; ErrNotFound if none.
	GetFailures(ctx context.Context, key string) (FailureCounter, error)
	// ResetFailures deletes the counter (success or admin unlock); missing is not an error.
	ResetFailures(ctx context.Context, key string) error
	// DeleteStaleCounters deletes up to limit counters whose LastAt is
	// before `before` and whose LockedUntil is nil or before `before`, and
	// returns how many it deleted; limit <= 0 deletes nothing. Pass `before`
	// no later than now minus the longest resetBefore window the caller
	// gives RecordFailure: such a counter would restart from 1 at its next
	// failure and holds no lock, so deleting it changes nothing but its
	// storage. A counter touched since, or locked until `before` or later,
	// is kept.
	DeleteStaleCounters(ctx context.Context, before time.Time, limit int) (int, error)
}

// UserStore keeps users.
type UserStore interface {
	// CreateUser inserts; ErrConflict if the ID or (case-insensitively) the
	// username exists.
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, id string) (User, error)
	// GetUserByUsername matches case-insensitively.
	GetUserByUsername(ctx context.Context, username string) (User, error)
	// UpdateUser replaces every field but ID and CreatedAt; ErrNotFound if
	// absent, ErrConflict if the new username is taken.
	UpdateUser(ctx context.Context, u User) error
	DeleteUser(ctx context.Context, id string) error // ErrNotFound if absent
	// RecordLogin sets LastLoginAt (one UPDATE, nothing else changes, not
	// even UpdatedAt); ErrNotFound if absent.
	RecordLogin(ctx context.Context, id string, at time.Time) error
	// ListUsers orders by lower(username).
	ListUsers(ctx context.Context, o ListOptions) ([]User, string, error)
	CountUsers(ctx context.Context) (int, error)
}

// Group is a named set of users; the `groups` scope puts the names of a
// user's groups in the `groups` claim. Name is unique case-insensitively
// but stored as typed.
type Group struct {
	ID          string
	Name        string
	Description string
	CreatedAt   time.Time
}

// GroupStore keeps groups and their members. Deleting a user (UserStore)
// or a group removes its memberships.
type GroupStore interface {
	// CreateGroup inserts; ErrConflict if the ID or (case-insensitively)
	// the name exists.
	CreateGroup(ctx context.Context, g Group) error
	GetGroup(ctx context.Context, id string) (Group, error)
	// GetGroupByName matches case-insensitively.
	GetGroupByName(ctx context.Context, name string) (Group, error)
	// ListGroups lists every group ordered by lower(name).
	ListGroups(ctx context.Context) ([]Group, error)
	DeleteGroup(ctx context.Context, id string) error // ErrNotFound if absent
	// AddGroupMember makes userID a member; adding a member twice is not
	// an error and reports added=false. Neither id is checked for
	// existence (callers look both up in their transaction).
	AddGroupMember(ctx context.Context, groupID, userID string, at time.Time) (added bool, err error)
	// RemoveGroupMember ends a membership; ErrNotFound if there was none.
	RemoveGroupMember(ctx context.Context, groupID, userID string) error
	// ListGroupMembers returns the user ids of a group's members, sorted.
	ListGroupMembers(ctx context.Context, groupID string) ([]string, error)
	// ListUserGroups returns the groups of a user ordered by lower(name).
	ListUserGroups(ctx context.Context, userID string) ([]Group, error)
}

// FactorKind names a second factor (SPEC part two "Second factors and
// passkeys").
type FactorKind string

const (
	FactorTOTP     FactorKind = "totp"     // RFC 6238 authenticator app
	FactorWebAuthn FactorKind = "webauthn" // passkey (WebAuthn credential)
)

// Factor is one authentication factor of a user besides the password.
type Factor struct {
	ID     string
	UserID string
	Kind   FactorKind
	Name   string // chosen by the user (passkeys), "" for TOTP
	// Secret is opaque to storage. TOTP: the shared secret, sealed by the
	// caller with the system secret (never in clear). WebAuthn: the
	// credential record (public key, flags, transports), public data.
	Secret []byte
	// CredentialID is the WebAuthn credential id (base64url), unique
	// across all users; "" for TOTP.
	CredentialID string
	// Counter is the replay fence. TOTP: the last time step accepted, so
	// a code is accepted once. WebAuthn: the authenticator's signature
	// counter.
	Counter int64
	// Confirmed: a TOTP factor counts only once the user has entered a
	// code from it; until then it is an enrolment in progress.
	Confirmed  bool
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// Resource is a registered API (RFC 8707 resource indicators): the URI a
// client names in `resource` and that becomes the access token's aud, a
// name for people, and the scopes it understands, each with a plain-words
// description the consent page shows. URI is unique and compared exactly.
type Resource struct {
	ID        string
	URI       string
	Name      string
	Scopes    []ResourceScope // in the order registered
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ResourceScope is one scope of a Resource.
type ResourceScope struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// ResourceStore keeps registered APIs.
type ResourceStore interface {
	// CreateResource inserts; ErrConflict if the ID or the URI exists.
	CreateResource(ctx context.Context, r Resource) error
	GetResource(ctx context.Context, id string) (Resource, error) // ErrNotFound
	// GetResourceByURI matches the URI exactly; ErrNotFound if absent.
	GetResourceByURI(ctx context.Context, uri string) (Resource, error)
	// ListResources lists every resource ordered by URI.
	ListResources(ctx context.Context) ([]Resource, error)
	// UpdateResource replaces URI, name, scopes and UpdatedAt of the
	// resource with r.ID; ErrNotFound if absent, ErrConflict if the new
	// URI belongs to another resource.
	UpdateResource(ctx context.Context, r Resource) error
	DeleteResource(ctx context.Context, id string) error // ErrNotFound if absent
}

// FactorStore keeps second factors and recovery codes.
type FactorStore interface {
	// CreateFactor inserts; ErrConflict if the id or the credential id
	// exists.
	CreateFactor(ctx context.Context, f Factor) error
	GetFactor(ctx context.Context, id string) (Factor, error)
	// GetFactorByCredentialID finds a WebAuthn factor; ErrNotFound if none.
	GetFactorByCredentialID(ctx context.Context, credentialID string) (Factor, error)
	// ListFactors lists a user's factors (confirmed or not), oldest first.
	ListFactors(ctx context.Context, userID string) ([]Factor, error)
	// ConfirmFactor marks an unconfirmed factor of userID confirmed with
	// counter as its first fence; ErrConflict if it was confirmed already
	// (a replayed form), ErrNotFound if absent or another user's.
	ConfirmFactor(ctx context.Context, userID, id string, counter int64, at time.Time) error
	// AdvanceFactorCounter records one use of a confirmed factor: it sets
	// Counter and LastUsedAt only if the stored counter is lower than
	// counter, or both are zero (authenticators that do not count).
	// ErrConflict otherwise — a replay, and exactly one of several
	// concurrent uses of one code wins; ErrNotFound if absent or
	// unconfirmed.
	AdvanceFactorCounter(ctx context.Context, id string, counter int64, at time.Time) error
	// RenameFactor sets the name of userID's factor; ErrNotFound if absent
	// or another user's.
	RenameFactor(ctx context.Context, userID, id, name string) error
	// DeleteFactor removes userID's factor; ErrNotFound if absent or
	// another user's.
	DeleteFactor(ctx context.Context, userID, id string) error
	// DeleteUserFactors removes every factor and recovery code of a user
	// and returns how many factors it removed. Deleting a user does too.
	DeleteUserFactors(ctx context.Context, userID string) (int, error)
	// ReplaceRecoveryCodes replaces the user's recovery codes (hashed by
	// the caller) with hashes.
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, at time.Time) error
	// UseRecoveryCode marks the user's unused code with hash used;
	// ErrNotFound if none matches (unknown or used already). Exactly one
	// of several concurrent uses wins.
	UseRecoveryCode(ctx context.Context, userID, hash string, at time.Time) error
	// CountRecoveryCodes returns how many unused codes the user has.
	CountRecoveryCodes(ctx context.Context, userID string) (int, error)
}

// Identity links an account at an upstream provider (SPEC part two "Sign-in
// through other providers") to a Sesame user: (UpstreamID, Subject) is the
// upstream's stable id for the account and is linked to at most one user.
// Email, Username and Groups are what the upstream said at the last
// sign-in; Groups join the user's own in the groups claim.
type Identity struct {
	UpstreamID  string
	Subject     string
	UserID      string
	Username    string
	Email       string
	Groups      []string
	CreatedAt   time.Time
	LastLoginAt time.Time
}

// IdentityStore keeps the links of upstream accounts to users. Deleting a
// user (UserStore) removes its identities.
type IdentityStore interface {
	// CreateIdentity links; ErrConflict if (UpstreamID, Subject) is
	// already linked (to anyone).
	CreateIdentity(ctx context.Context, id Identity) error
	GetIdentity(ctx context.Context, upstreamID, subject string) (Identity, error)
	// ListUserIdentities lists a user's identities by upstream id, subject.
	ListUserIdentities(ctx context.Context, userID string) ([]Identity, error)
	// UpdateIdentity replaces Username, Email, Groups and LastLoginAt of
	// (UpstreamID, Subject); ErrNotFound if absent.
	UpdateIdentity(ctx context.Context, id Identity) error
	// DeleteIdentity unlinks; ErrNotFound if absent.
	DeleteIdentity(ctx context.Context, upstreamID, subject string) error
	// FindUsersByEmail returns the users whose email equals email
	// case-insensitively (ASCII folding), at most 10, ordered by id; none
	// for "".
	FindUsersByEmail(ctx context.Context, email string) ([]User, error)
}

// ClientStore keeps clients.
type ClientStore interface {
	CreateClient(ctx context.Context, c Client) error // ErrConflict on duplicate id
	GetClient(ctx context.Context, id string) (Client, error)
	// UpdateClient replaces every field but ID and CreatedAt; ErrNotFound if absent.
	UpdateClient(ctx context.Context, c Client) error
	DeleteClient(ctx context.Context, id string) error // ErrNotFound if absent
	// ListClients orders by id.
	ListClients(ctx context.Context, o ListOptions) ([]Client, string, error)
	// RotateClientSecret replaces the secret hash only if the current one
	// equals oldHash (compare-and-swap), moving oldHash into
	// RotatedSecretHashes when keepOld is true. ErrConflict if another
	// rotation won, ErrNotFound if the client is absent.
	RotateClientSecret(ctx context.Context, id, oldHash, newHash string, keepOld bool, at time.Time) error
}

// Transactor runs work in one database transaction. The transaction travels
// in the returned context and every store method called with that context
// uses it. A BeginTx on a context that already carries a transaction is a
// no-op whose Commit/Rollback do nothing (the outer owner decides).
type Transactor interface {
	BeginTx(ctx context.Context) (context.Context, error)
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
	// InTransaction reports whether ctx carries a transaction of this
	// store (work that batches writes across requests must not take a
	// write out of its caller's transaction).
	InTransaction(ctx context.Context) bool
}

// Store is every aggregate together, for wiring. Consumers should take the
// narrow interface they use.
type Store interface {
	Transactor
	UserStore
	ClientStore
	TokenStore
	GrantStore
	NonceStore
	KeyStore
	SessionStore
	ConsentStore
	FlowStore
	AuditStore
	RegistrationTokenStore
	ThrottleStore
	GroupStore
	FactorStore
	ResourceStore
	DeviceStore
	IdentityStore
	MailStore
	LinkTokenStore
	// RevocationEpoch is a counter that changes after this Store value
	// committed a write that can make an access token inactive: RevokeGrant,
	// RevokeGrants, RevokeClientTokens, ClaimNonce in NonceJWTDenylist, and
	// DeactivateToken, DeactivateByRequestID, DeleteToken, DeleteByRequestID
	// of access tokens. (It may change more often, never less.) A cache of
	// "this token is not revoked" taken at epoch e is valid only while the
	// epoch is still e. Backends that can reach other processes (Postgres)
	// also announce each such commit on RevocationChannel.
	RevocationEpoch() uint64
	// Ping checks the database is reachable.
	Ping(ctx context.Context) error
	// Close releases the pool.
	Close() error
}

// RevocationChannel is the Postgres NOTIFY channel on which a backend
// announces every committed revoking write (see Store.RevocationEpoch), so
// that other processes drop what they cached about revocations.
const RevocationChannel = "sesame_revocations"

// InTx runs fn in a transaction of t: committed if fn returns nil, rolled
// back otherwise (and on panic, which is re-raised).
func InTx(ctx context.Context, t Transactor, fn func(ctx context.Context) error) (err error) {
	txCtx, err := t.BeginTx(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			_ = t.Rollback(txCtx)
			panic(p)
		}
		if err != nil {
			_ = t.Rollback(txCtx)
		}
	}()
	if err = fn(txCtx); err != nil {
		return err
	}
	return t.Commit(txCtx)
}

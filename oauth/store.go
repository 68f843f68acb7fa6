package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/pkce"
	fstorage "github.com/ory/fosite/storage"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// Store is what oauth reads and writes itself; storage.Store (the wiring
// type) satisfies it, and so does internal/cimd's Store, the decorator the
// server passes in (its GetClient also answers URL client ids). The
// password check and the resource rule are internal/app's: oauth hands
// them this store.
type Store interface {
	// fosite's BeginTX/Commit/Rollback, the refresh and revocation
	// transactions (storage.InTx), and the revocation cache and token
	// batcher, which must not see or leave a caller's transaction.
	storage.Transactor

	// Codes, tokens and pushed requests by hashed signature: the fosite
	// adapter's records, the refresh grant's rotation, revocation of a
	// family, DRF key import; CreateTokens group-commits the opaque
	// client_credentials rows (batch.go).
	CreateToken(ctx context.Context, rec storage.TokenRecord) error
	CreateTokens(ctx context.Context, recs []storage.TokenRecord) error
	GetToken(ctx context.Context, kind storage.TokenKind, signature string) (storage.TokenRecord, error)
	DeleteToken(ctx context.Context, kind storage.TokenKind, signature string) error
	DeactivateToken(ctx context.Context, kind storage.TokenKind, signature string, at time.Time, successor []byte) error
	DeactivateByRequestID(ctx context.Context, kind storage.TokenKind, requestID string) (int, error)
	ListByRequestID(ctx context.Context, kind storage.TokenKind, requestID string) ([]storage.TokenRecord, error)

	// Grant families: created and touched with their tokens, locked before
	// a refresh, revoked by the endpoint, reuse detection and
	// Handler.RevokeGrants; a client's revocation instant reaches its
	// grantless tokens.
	CreateGrant(ctx context.Context, g storage.Grant) error
	GetGrant(ctx context.Context, requestID string) (storage.Grant, error)
	LockGrant(ctx context.Context, requestID string) error
	TouchGrant(ctx context.Context, requestID string, lastUsed, expiresAt time.Time) error
	RevokeGrant(ctx context.Context, requestID, reason string, at time.Time) error
	RevokeGrants(ctx context.Context, f storage.GrantFilter, reason string, at time.Time) ([]string, error)
	ClientTokensRevokedAt(ctx context.Context, clientID string) (time.Time, error)

	// Client-assertion jti replay and the JWT access-token denylist; the
	// epoch tells the revocation cache a revoking write committed.
	ClaimNonce(ctx context.Context, ns, value string, exp time.Time) error
	NonceExists(ctx context.Context, ns, value string, now time.Time) (bool, error)
	RevocationEpoch() uint64

	// Who a token is for: the client (fosite's ClientManager, RequireMFA),
	// the user of a personal token or an approved device request and the
	// sign-in behind it (auth_time, amr), the groups claim (own groups and
	// upstream identities' groups), the factors that keep a user out of
	// the password grant, and the registered APIs of `resource`
	// (app.ResolveTargets).
	GetClient(ctx context.Context, id string) (storage.Client, error)
	GetUser(ctx context.Context, id string) (storage.User, error)
	GetSession(ctx context.Context, id string) (storage.LoginSession, error)
	ListUserGroups(ctx context.Context, userID string) ([]storage.Group, error)
	ListUserIdentities(ctx context.Context, userID string) ([]storage.Identity, error)
	ListFactors(ctx context.Context, userID string) ([]storage.Factor, error)
	GetResourceByURI(ctx context.Context, uri string) (storage.Resource, error)

	// The device authorization grant (RFC 8628): the request, the
	// device's polls and the one redemption.
	CreateDeviceGrant(ctx context.Context, g storage.DeviceGrant) error
	PollDeviceGrant(ctx context.Context, deviceCodeHash string, at time.Time, bump time.Duration) (storage.DeviceGrant, bool, error)
	RedeemDeviceGrant(ctx context.Context, deviceCodeHash string) error

	// Building Passwords when Deps.Passwords is nil (app.NewPasswords,
	// with the Transactor and GetUser above).
	GetUserByUsername(ctx context.Context, username string) (storage.User, error)
	UpdateUser(ctx context.Context, u storage.User) error
	RecordLogin(ctx context.Context, id string, at time.Time) error

	// The login throttle gate reads the counters internal/throttle writes
	// (throttle.go); the endpoints' audit events.
	GetFailures(ctx context.Context, key string) (storage.FailureCounter, error)
	AppendAudit(ctx context.Context, e storage.AuditEvent) error
}

// fositeStore adapts Store to the storage interfaces of the fosite
// handlers we compose. Every signature and code is hashed
// (secret.HashToken) before it reaches storage, and requests are sealed
// (ring.Seal) because sessions carry personal data.
//
// Errors: storage.ErrNotFound becomes fosite.ErrNotFound; anything that is
// neither NotFound nor Conflict is an infrastructure failure, recorded in
// the request state so the endpoint answers 5xx whatever fosite made of it.
type fositeStore struct {
	s          Store
	ring       *secret.Keyring
	cfg        *Config
	passwords  *app.Passwords // the password grant's check
	logger     *slog.Logger
	now        func() time.Time
	newSession func() *Session
	// atVerifier verifies JWT access tokens, which have no row
	// (store_jwt.go).
	atVerifier *jwtSigner
	// clients caches GetClient (clientcache.go); nil = off.
	clients *clientCache
	gate    *gate // brute-force guard; nil = off (throttle.go)
	// batch group-commits opaque client_credentials token rows (batch.go).
	batch *tokenBatcher
	// revs remembers access tokens found not revoked (revcache.go); nil = off.
	revs *revCache
}

var (
	_ Store = storage.Store(nil)

	_ fosite.ClientManager                                = (*fositeStore)(nil)
	_ oauth2.CoreStorage                                  = (*fositeStore)(nil)
	_ oauth2.TokenRevocationStorage                       = (*fositeStore)(nil)
	_ oauth2.ResourceOwnerPasswordCredentialsGrantStorage = (*fositeStore)(nil)
	_ pkce.PKCERequestStorage                             = (*fositeStore)(nil)
	_ openid.OpenIDConnectRequestStorage                  = (*fositeStore)(nil)
	_ fstorage.Transactional                              = (*fositeStore)(nil)
	_ fosite.PARStorage                                   = (*fositeStore)(nil)
)

// BeginTX starts a transaction carried by the returned context; nested
// calls are no-ops (storage.Transactor contract).
func (f *fositeStore) BeginTX(ctx context.Context) (context.Context, error) {
	txCtx, err := f.s.BeginTx(ctx)
	if err != nil {
		return ctx, f.fail(ctx, "begin transaction", err)
	}
	return txCtx, nil
}

// Commit commits the transaction of ctx. A failed commit (serialization
// failure) of a race loser is a conflict, not an outage.
func (f *fositeStore) Commit(ctx context.Context) error {
	if err := f.s.Commit(ctx); err != nil {
		return f.fail(ctx, "commit", err)
	}
	return nil
}

func (f *fositeStore) Rollback(ctx context.Context) error {
	if err := f.s.Rollback(ctx); err != nil {
		// The answer is already an error; a failed rollback is logged
		// but must not turn a protocol error into a 5xx.
		f.logger.WarnContext(ctx, "oauth: rollback failed", "err", err)
	}
	return nil
}

// fail translates a storage error for fosite: NotFound → fosite.ErrNotFound,
// Conflict → fosite.ErrSerializationFailure (and the race is recorded),
// anything else is recorded as an infrastructure failure.
func (f *fositeStore) fail(ctx context.Context, op string, err error) error {
	switch {
	case err == nil:
		return nil
	case isNotFound(err):
		return fosite.ErrNotFound.WithWrap(err).WithDebugf("%s: %s", op, err)
	case isConflict(err):
		stateOf(ctx).setRaceLost()
		return fosite.ErrSerializationFailure.WithWrap(err).WithDebugf("%s: %s", op, err)
	}
	stateOf(ctx).failStore(fmt.Errorf("%s: %w", op, err))
	return fmt.Errorf("oauth: store: %s: %w", op, err)
}

// requestFields are the fields of a stored fosite request but its session.
type requestFields struct {
	ID                string     `json:"id"`
	RequestedAt       time.Time  `json:"requested_at"`
	ClientID          string     `json:"client_id"`
	RequestedScopes   []string   `json:"scopes,omitempty"`
	GrantedScopes     []string   `json:"granted_scopes,omitempty"`
	RequestedAudience []string   `json:"audience,omitempty"`
	GrantedAudience   []string   `json:"granted_audience,omitempty"`
	Form              url.Values `json:"form,omitempty"`
}

// storedRequest is the plain, serializable form of a fosite request.
type storedRequest struct {
	requestFields
	Session json.RawMessage `json:"session"`
}

// openedRequest decodes a storedRequest in one pass, the session straight
// into the (pointer) value Session holds: decoding the session as raw JSON
// first and then again scanned it twice, and JSON decoding was the largest
// item of opaque introspection after the database reads.
type openedRequest struct {
	requestFields
	Session any `json:"session"`
}

// aad binds a sealed request to its row, so it cannot be moved to another.
func aad(kind storage.TokenKind, sigHash string) []byte {
	return []byte("sesame/token/" + string(kind) + "/" + sigHash)
}

func (f *fositeStore) seal(kind storage.TokenKind, sigHash string, r fosite.Requester) ([]byte, error) {
	sess, err := json.Marshal(r.GetSession())
	if err != nil {
		return nil, fmt.Errorf("oauth: marshal session: %w", err)
	}
	var clientID string
	if r.GetClient() != nil {
		clientID = r.GetClient().GetID()
	}
	b, err := json.Marshal(storedRequest{requestFields: requestFields{
		ID: r.GetID(), RequestedAt: r.GetRequestedAt(), ClientID: clientID,
		RequestedScopes: r.GetRequestedScopes(), GrantedScopes: r.GetGrantedScopes(),
		RequestedAudience: r.GetRequestedAudience(), GrantedAudience: r.GetGrantedAudience(),
		Form: r.GetRequestForm(),
	}, Session: sess})
	if err != nil {
		return nil, fmt.Errorf("oauth: marshal request: %w", err)
	}
	return f.ring.Seal(b, aad(kind, sigHash))
}

// open decodes a record into a fosite request. The session is unmarshaled
// into session when given (fosite may pass nil, FOSITE.md §3.1). The
// client is reloaded; a deleted client makes the record unusable
// (fosite.ErrNotFound).
func (f *fositeStore) open(ctx context.Context, rec storage.TokenRecord, session fosite.Session) (*fosite.Request, error) {
	b, err := f.ring.Open(rec.Data, aad(rec.Kind, rec.Signature))
	if err != nil {
		return nil, f.fail(ctx, "open token record", err)
	}
	if session == nil {
		session = f.newSession()
	}
	sr := openedRequest{Session: session}
	if err := json.Unmarshal(b, &sr); err != nil {
		return nil, f.fail(ctx, "decode token record", err)
	}
	if sr.Session != session {
		// "session": null, or a value of another type replaced ours.
		return nil, f.fail(ctx, "decode session", fmt.Errorf("session decoded as %T", sr.Session))
	}
	client, err := f.GetClient(ctx, sr.ClientID)
	if err != nil {
		return nil, err
	}
	form := sr.Form
	if form == nil {
		form = url.Values{}
	}
	return &fosite.Request{
		ID: sr.ID, RequestedAt: sr.RequestedAt, Client: client,
		RequestedScope: sr.RequestedScopes, GrantedScope: sr.GrantedScopes,
		RequestedAudience: sr.RequestedAudience, GrantedAudience: sr.GrantedAudience,
		Form: form, Session: session,
	}, nil
}

// sessionOf returns our session of r, or an empty one.
func sessionOf(r fosite.Requester) *Session {
	if s, ok := r.GetSession().(*Session); ok && s != nil {
		return s
	}
	return &Session{DefaultSession: openid.NewDefaultSession()}
}

// createRecord stores one record of r keyed by the hash of signature.
func (f *fositeStore) createRecord(ctx context.Context, kind storage.TokenKind, signature string, r fosite.Requester, expiresAt time.Time, accessSig string) error {
	rec, err := f.record(kind, signature, r, expiresAt, accessSig)
	if err != nil {
		return err
	}
	return f.fail(ctx, "create "+string(kind), f.s.CreateToken(ctx, rec))
}

// record builds the row of a token: hashed signature, sealed request.
func (f *fositeStore) record(kind storage.TokenKind, signature string, r fosite.Requester, expiresAt time.Time, accessSig string) (storage.TokenRecord, error) {
	if signature == "" {
		return storage.TokenRecord{}, errors.New("oauth: empty token signature")
	}
	h := secret.HashToken(signature)
	data, err := f.seal(kind, h, r)
	if err != nil {
		return storage.TokenRecord{}, err
	}
	var linked string
	if accessSig != "" {
		linked = secret.HashToken(accessSig)
	}
	var clientID string
	if r.GetClient() != nil {
		clientID = r.GetClient().GetID()
	}
	return storage.TokenRecord{
		Kind: kind, Signature: h, RequestID: r.GetID(), ClientID: clientID,
		Subject: sessionOf(r).GetSubject(), Active: true, RequestedAt: r.GetRequestedAt(),
		ExpiresAt: expiresAt, Data: data, AccessSignature: linked,
	}, nil
}

// getRecord loads the record of signature. ok is false with a fosite error.
func (f *fositeStore) getRecord(ctx context.Context, kind storage.TokenKind, signature string) (storage.TokenRecord, error) {
	if signature == "" {
		return storage.TokenRecord{}, fosite.ErrNotFound.WithDebug("empty signature")
	}
	rec, err := f.s.GetToken(ctx, kind, secret.HashToken(signature))
	if err != nil {
		return rec, f.fail(ctx, "get "+string(kind), err)
	}
	return rec, nil
}

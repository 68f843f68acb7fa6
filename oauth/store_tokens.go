package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ory/fosite"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// ensureGrant creates the grant family row of r (idempotent) and raises its
// expiry to cover a token expiring at exp. Revocation lives on the grant,
// so a JWT access token is revoked with its family even without a row.
func (f *fositeStore) ensureGrant(ctx context.Context, r fosite.Requester, exp time.Time) error {
	st := stateOf(ctx)
	id := r.GetID()
	if isClientGrant(id) {
		return nil // no grant row: see clientGrantPrefix
	}
	st.mu.Lock()
	prev, seen := st.grantExp[id]
	if st.grantExp == nil {
		st.grantExp = map[string]time.Time{}
	}
	if !seen || exp.After(prev) {
		st.grantExp[id] = exp
	}
	st.mu.Unlock()
	now := f.now()
	if !seen {
		sess := sessionOf(r)
		gt := r.GetRequestForm().Get("grant_type")
		if gt == "" {
			gt = "authorization_code"
		}
		// These grants get a fresh request id on every token request, so
		// CreateGrant below always creates the row with exp already set:
		// no second write.
		fresh := gt == "client_credentials" || gt == "password" || gt == app.TokenExchangeGrantType
		g := storage.Grant{
			RequestID: id, ClientID: r.GetClient().GetID(), Subject: sess.GetSubject(),
			SessionID: sess.LoginSessionID, GrantType: gt,
			Scopes: r.GetGrantedScopes(), Audience: r.GetGrantedAudience(),
			CreatedAt: now, LastUsedAt: now, ExpiresAt: exp,
		}
		if err := f.s.CreateGrant(ctx, g); err != nil {
			return f.fail(ctx, "create grant", err)
		}
		if fresh {
			return nil
		}
	} else if !exp.After(prev) {
		return nil
	}
	// CreateGrant leaves an existing family (refresh) unchanged.
	return f.fail(ctx, "touch grant", f.s.TouchGrant(ctx, id, now, exp))
}

// clientGrantPrefix starts the request id of every client_credentials
// token request (token.go). Such a token has no grant row: a JWT costs no
// write at all and an opaque token one row, where a grant row doubled the
// work of the hottest write. Nothing needs the row: there is no refresh
// token to chain, revoking one token denylists its jti (JWT) or
// deactivates its row (opaque), and revoking all of a client's tokens
// records a client-wide instant (storage.GrantStore.RevokeClientTokens)
// that introspection compares with the token's issue time.
const clientGrantPrefix = "cc-"

func isClientGrant(requestID string) bool { return strings.HasPrefix(requestID, clientGrantPrefix) }

// checkClientGrant is checkGrant for a grantless client_credentials token
// issued at issuedAt. precise is false for a JWT, whose iat has whole
// seconds: a token of the very second of a revocation counts as revoked
// (failing closed), since it cannot be told apart from one issued before.
func (f *fositeStore) checkClientGrant(ctx context.Context, clientID string, issuedAt time.Time, precise bool) error {
	key := "c:" + clientID
	if at, ok := f.cached(ctx, key); ok {
		return clientRevoked(at.(time.Time), issuedAt, precise)
	}
	st := f.revs.stamp()
	at, err := f.s.ClientTokensRevokedAt(ctx, clientID)
	if err != nil {
		return f.fail(ctx, "check client revocation", err)
	}
	f.remember(ctx, key, at, st)
	return clientRevoked(at, issuedAt, precise)
}

// cached looks key up in the revocation cache (revcache.go), which a
// transaction bypasses: it must see its own writes.
func (f *fositeStore) cached(ctx context.Context, key string) (any, bool) {
	if f.revs == nil || f.s.InTransaction(ctx) {
		return nil, false
	}
	return f.revs.get(key)
}

// remember stores a "not revoked" finding read after st was taken.
func (f *fositeStore) remember(ctx context.Context, key string, v any, st stamp) {
	if f.revs == nil || f.s.InTransaction(ctx) {
		return
	}
	f.revs.put(key, v, st)
}

// clientRevoked compares a token's issue time with its client's revocation
// instant at (zero: never revoked); see checkClientGrant.
func clientRevoked(at, issuedAt time.Time, precise bool) error {
	if at.IsZero() {
		return nil
	}
	if !precise {
		at = at.Truncate(time.Second)
	}
	if !issuedAt.After(at) {
		return fosite.ErrInactiveToken.WithDebug("client's tokens revoked")
	}
	return nil
}

// checkGrant returns fosite.ErrInactiveToken when the family was revoked
// (by reuse detection, RFC 7009, or an admin revoking a user's grants).
// Grantless client_credentials tokens are checked by checkClientGrant.
func (f *fositeStore) checkGrant(ctx context.Context, requestID string) error {
	key := "g:" + requestID
	if _, ok := f.cached(ctx, key); ok {
		return nil
	}
	st := f.revs.stamp()
	g, err := f.s.GetGrant(ctx, requestID)
	if isNotFound(err) {
		return fosite.ErrInactiveToken.WithDebug("grant not found")
	} else if err != nil {
		return f.fail(ctx, "get grant", err)
	}
	if g.RevokedAt != nil {
		return fosite.ErrInactiveToken.WithDebug("grant revoked")
	}
	f.remember(ctx, key, true, st)
	return nil
}

// CreateAccessTokenSession stores an opaque access token. A JWT access
// token gets no row, only its grant (store_jwt.go): the token carries its
// own claims and grant_id, and revocation lives on the grant and the jti
// denylist.
func (f *fositeStore) CreateAccessTokenSession(ctx context.Context, signature string, r fosite.Requester) error {
	sess := sessionOf(r)
	exp := sess.expiry(fosite.AccessToken, f.now().Add(f.cfg.AccessTokenLifetime))
	if sess.AccessTokenFormat == FormatJWT {
		return f.ensureGrant(ctx, r, exp)
	}
	if isClientGrant(r.GetID()) {
		// One row and no grant: group-committed with the rows of
		// concurrent requests unless a transaction of ours is open.
		rec, err := f.record(storage.KindAccessToken, signature, forAccessToken(r), exp, "")
		if err != nil {
			return f.fail(ctx, "store access token", err)
		}
		if f.batch == nil || f.s.InTransaction(ctx) {
			return f.fail(ctx, "store access token", f.s.CreateToken(ctx, rec))
		}
		return f.fail(ctx, "store access token", f.batch.create(ctx, rec))
	}
	// The grant and the row in one commit (one WAL flush instead of two);
	// inside the code/refresh transaction this is part of that one.
	var inner error
	err := storage.InTx(ctx, f.s, func(ctx context.Context) error {
		if inner = f.ensureGrant(ctx, r, exp); inner != nil {
			return inner
		}
		// The row records this token's own aud (RFC 8707, resource.go).
		inner = f.createRecord(ctx, storage.KindAccessToken, signature, forAccessToken(r), exp, "")
		return inner
	})
	if inner != nil {
		return inner // already translated for fosite
	}
	return f.fail(ctx, "store access token", err)
}

// accessRecord is the row of an opaque access token, through the
// revocation cache: a row that is active and not revoked with its client
// is remembered; anything else is read again next time.
func (f *fositeStore) accessRecord(ctx context.Context, signature string) (storage.TokenRecord, error) {
	key := "t:" + signature
	if v, ok := f.cached(ctx, key); ok {
		return v.(storage.TokenRecord), nil
	}
	st := f.revs.stamp()
	rec, err := f.getRecord(ctx, storage.KindAccessToken, signature)
	if err == nil && rec.Active && clientRevoked(rec.ClientRevokedAt, rec.RequestedAt, true) == nil {
		f.remember(ctx, key, rec, st)
	}
	return rec, err
}

// GetAccessTokenSession returns the request of an access token, with
// fosite.ErrInactiveToken when it, its grant, or its jti was revoked.
func (f *fositeStore) GetAccessTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	if isJWT(signature) {
		// tokenStrategy.AccessTokenSignature hands over a JWT whole.
		r, handled, err := f.getJWTAccessSession(ctx, signature, session)
		if handled {
			return r, err
		}
		signature = lastSegment(signature)
	}
	var (
		rec storage.TokenRecord
		err error
	)
	if key, ok := strings.CutPrefix(signature, drfSigPrefix); ok {
		rec, err = f.drfAccessRecord(ctx, key) // drf.go
	} else {
		rec, err = f.accessRecord(ctx, signature)
	}
	if err != nil {
		return nil, err
	}
	r, err := f.open(ctx, rec, session)
	if err != nil {
		return nil, err
	}
	if !rec.Active {
		return r, fosite.ErrInactiveToken
	}
	if isClientGrant(rec.RequestID) {
		// GetToken read the client's instant with the row: one read.
		err = clientRevoked(rec.ClientRevokedAt, rec.RequestedAt, true)
	} else {
		err = f.checkGrant(ctx, rec.RequestID)
	}
	if err != nil {
		return r, err
	}
	if s := sessionOf(r); s.AccessTokenFormat == FormatJWT && s.AccessTokenJTI != "" {
		denied, err := f.s.NonceExists(ctx, storage.NonceJWTDenylist, s.AccessTokenJTI, f.now())
		if err != nil {
			return nil, f.fail(ctx, "check jwt denylist", err)
		}
		if denied {
			return r, fosite.ErrInactiveToken.WithDebug("jti revoked")
		}
	}
	return r, nil
}

func (f *fositeStore) DeleteAccessTokenSession(ctx context.Context, signature string) error {
	if isJWT(signature) {
		signature = lastSegment(signature)
	}
	if key, ok := strings.CutPrefix(signature, drfSigPrefix); ok {
		for _, sig := range f.drfSignatures(key) {
			if err := f.s.DeleteToken(ctx, storage.KindAccessToken, secret.HashToken(sig)); err != nil {
				return f.fail(ctx, "delete access token", err)
			}
		}
		return nil
	}
	return f.fail(ctx, "delete access token", f.s.DeleteToken(ctx, storage.KindAccessToken, secret.HashToken(signature)))
}

// CreateRefreshTokenSession stores a refresh token linked to its access
// token. With rotation off the refresh grant keeps the presented token, so
// the new one fosite generated is not stored (and never handed out).
func (f *fositeStore) CreateRefreshTokenSession(ctx context.Context, signature, accessSignature string, r fosite.Requester) error {
	st := stateOf(ctx)
	st.mu.Lock()
	keep := st.keepRefresh
	st.mu.Unlock()
	if keep {
		return nil
	}
	exp := sessionOf(r).expiry(fosite.RefreshToken, f.now().Add(f.cfg.RefreshTokenLifetime))
	if err := f.ensureGrant(ctx, r, exp); err != nil {
		return err
	}
	if err := f.createRecord(ctx, storage.KindRefreshToken, signature, refreshGrantOf(ctx, r), exp, accessSignature); err != nil {
		return err
	}
	if r.GetRequestForm().Get("grant_type") == "refresh_token" {
		// The rotation's audit row, in the rotation's transaction.
		e := storage.AuditEvent{Type: auditTokenRefreshed, Actor: "client:" + r.GetClient().GetID(),
			ClientID: r.GetClient().GetID(), Outcome: "success"}
		if sub := sessionOf(r).GetSubject(); sub != r.GetClient().GetID() {
			e.UserID = sub
		}
		if c := callerOf(ctx); c != nil {
			e.IP, e.UserAgent = c.ip, c.userAgent
		}
		f.auditEvent(ctx, e)
	}
	return nil
}

// errGraceRetry: see reqState.graceCheck.
var errGraceRetry = errors.New("oauth: refresh token rotated concurrently; decide under the family lock")

// GetRefreshTokenSession returns the request of a refresh token; a rotated
// token, or one of a revoked grant, comes with fosite.ErrInactiveToken so
// that fosite revokes the family (reuse detection, FOSITE.md §3.4).
func (f *fositeStore) GetRefreshTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	rec, err := f.getRecord(ctx, storage.KindRefreshToken, signature)
	if err != nil {
		return nil, err
	}
	r, err := f.open(ctx, rec, session)
	if err != nil {
		return nil, err
	}
	if !rec.Active {
		st := stateOf(ctx)
		st.mu.Lock()
		revoking, graceCheck := st.revoking, st.graceCheck
		if graceCheck && rec.FirstUsedAt != nil && len(rec.Successor) > 0 && f.now().Sub(*rec.FirstUsedAt) <= f.cfg.RefreshReuseGrace {
			// Rotated just now, maybe by a concurrent request: not reuse
			// yet. Not ErrInactiveToken, or fosite would revoke the family.
			st.graceRetry = true
			st.mu.Unlock()
			return r, errGraceRetry
		}
		if !revoking {
			st.revokeReason = "refresh_reuse"
		}
		st.mu.Unlock()
		if !revoking {
			return r, fosite.ErrInactiveToken
		}
	}
	if err := f.checkGrant(ctx, rec.RequestID); err != nil {
		return r, err
	}
	return r, nil
}

// DeleteRefreshTokenSession is called by fosite on reuse detection. The row
// is kept, inactive, so a further replay is recognised as reuse too.
func (f *fositeStore) DeleteRefreshTokenSession(ctx context.Context, signature string) error {
	err := f.s.DeactivateToken(ctx, storage.KindRefreshToken, secret.HashToken(signature), f.now(), nil)
	if isNotFound(err) || isConflict(err) {
		return nil
	}
	return f.fail(ctx, "deactivate refresh token", err)
}

// successor is what a grace-window retry of a rotated refresh token gets
// back: the pair issued when it was rotated.
type successor struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	ExpiresAt    time.Time `json:"expires_at"`
	Scope        []string  `json:"scope,omitempty"`
	// DPoPJKT is the key the access token is bound to (RFC 9449).
	DPoPJKT string `json:"dpop_jkt,omitempty"`
}

func successorAAD(sigHash string) []byte { return []byte("sesame/refresh-successor/" + sigHash) }

// RotateRefreshToken retires the presented refresh token when fosite issues
// its successor, with a conditional update: of concurrent refreshes with
// the same token exactly one wins, the others get ErrSerializationFailure
// (answered invalid_grant) and roll back. With a grace window the new pair
// is sealed into the old row for idempotent retries.
//
// The grant row is locked first, as revocation does (store_revoke.go), so
// a refresh and a revocation of one family queue instead of deadlocking.
// The successor is sealed under a key bound to the presented token
// (secret.SealBound): the row holds no usable token, only a value that
// whoever presents the old token again can open.
func (f *fositeStore) RotateRefreshToken(ctx context.Context, requestID string, signature string) error {
	st := stateOf(ctx)
	if !f.cfg.RotateRefreshTokens {
		st.mu.Lock()
		st.keepRefresh = true
		st.mu.Unlock()
		return nil
	}
	if err := f.s.LockGrant(ctx, requestID); err != nil && !isNotFound(err) {
		return f.fail(ctx, "lock grant", err)
	}
	h := secret.HashToken(signature)
	var succ []byte
	if f.cfg.RefreshReuseGrace > 0 {
		st.mu.Lock()
		s := successor{AccessToken: st.accessToken, RefreshToken: st.refreshToken}
		st.mu.Unlock()
		ar, ok := ctx.Value(fosite.AccessRequestContextKey).(fosite.Requester)
		if !ok {
			return fmt.Errorf("oauth: rotate refresh token: no access request in context")
		}
		s.ExpiresAt = ar.GetSession().GetExpiresAt(fosite.AccessToken)
		s.Scope = ar.GetGrantedScopes()
		if sess, ok := ar.GetSession().(*Session); ok {
			s.DPoPJKT = sess.DPoPJKT
		}
		b, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("oauth: marshal successor: %w", err)
		}
		presented := ar.GetRequestForm().Get("refresh_token")
		if succ, err = f.ring.SealBound(b, successorAAD(h), []byte(presented)); err != nil {
			return fmt.Errorf("oauth: seal successor: %w", err)
		}
	}
	err := f.s.DeactivateToken(ctx, storage.KindRefreshToken, h, f.now(), succ)
	return f.fail(ctx, "rotate refresh token", err)
}

// openSuccessor decodes the successor sealed into rec for the presented
// refresh token.
func (f *fositeStore) openSuccessor(rec storage.TokenRecord, presented string) (successor, error) {
	var s successor
	b, err := f.ring.OpenBound(rec.Successor, successorAAD(rec.Signature), []byte(presented))
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(b, &s)
}

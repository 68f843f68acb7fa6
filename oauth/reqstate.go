package oauth

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// reqState is per-request scratch space carried in the context from our
// endpoints down to the storage adapter and the token strategy. fosite
// swallows the cause of several storage errors (a failed GetClient becomes
// invalid_client, a failed jti check becomes jti_known), so the adapter
// records what really happened here and the endpoint decides the answer.
type reqState struct {
	mu sync.Mutex
	// storeErr is the first infrastructure failure of the store (anything
	// but ErrNotFound/ErrConflict): the request must fail with a 5xx.
	storeErr error
	// raceLost is set when a conditional update lost against a concurrent
	// request (code redeemed or refresh token rotated at the same time).
	raceLost bool
	// accessToken and refreshToken are the values generated for this
	// response, captured by the strategy for the refresh grace window.
	accessToken, refreshToken string
	// keepRefresh: refresh rotation is off; the presented refresh token
	// stays valid and is returned again instead of a new one.
	keepRefresh bool
	// refreshGrant is the original grant of a refresh request that asked
	// for a narrower scope: the new refresh token keeps it (refreshscope.go).
	refreshGrant []string
	// username is the canonical username authenticated by the password grant.
	username string
	// revokeReason is stored on the grant when this request revokes one.
	revokeReason string
	// revoking: this request is an RFC 7009 revocation. A rotated refresh
	// token still names its family, so revoking it revokes the family
	// (the client may hold it because a concurrent refresh just rotated it).
	revoking bool
	// graceCheck: this refresh runs without the family's lock, with a
	// grace window. A rotated token it meets is not called reuse there:
	// graceRetry is set and the request is decided again under the lock
	// (token.go refreshInGrace).
	graceCheck, graceRetry bool
	// codeSeen: the authorization code was already looked up once.
	codeSeen bool
	// grantExp is the expiry this request already wrote to each grant.
	grantExp map[string]time.Time
	// presentedJWTs are the rowless JWT access tokens this request looked
	// up (revocation, introspection): revoking their grant also puts their
	// jti on the denylist, since no row remembers it.
	presentedJWTs []presentedJWT
	// dpopJKT is the key thumbprint of this token request's verified DPoP
	// proof (dpop.go), "" without one.
	dpopJKT string
	// exchanged is what a token exchange request checked (exchange.go).
	exchanged *exchangeRequest
}

// presentedJWT is a verified JWT access token seen by this request.
type presentedJWT struct {
	requestID, jti string
	exp            time.Time
}

type reqStateKey struct{}

// withState returns ctx carrying a fresh reqState.
func withState(ctx context.Context) (context.Context, *reqState) {
	st := &reqState{}
	return context.WithValue(ctx, reqStateKey{}, st), st
}

// stateOf returns the reqState of ctx, or a throwaway one so callers never
// need a nil check (calls from outside our endpoints and the authorize
// seam of authorize.go).
func stateOf(ctx context.Context) *reqState {
	if st, ok := ctx.Value(reqStateKey{}).(*reqState); ok {
		return st
	}
	return &reqState{}
}

func (st *reqState) failStore(err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.storeErr == nil {
		st.storeErr = err
	}
}

func (st *reqState) storeFailure() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.storeErr
}

func (st *reqState) setRaceLost() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.raceLost = true
}

func (st *reqState) lostRace() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.raceLost
}

func (st *reqState) reason(def string) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.revokeReason != "" {
		return st.revokeReason
	}
	return def
}

func isNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }
func isConflict(err error) bool { return errors.Is(err, storage.ErrConflict) }

// retryUnderLock reports whether an unlocked refresh met a token that a
// concurrent request had just rotated (seen rotated, or lost the rotation
// race) and must be decided again with the family locked.
func (s *reqState) retryUnderLock() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.graceRetry || (s.raceLost && s.storeErr == nil)
}

package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ory/fosite"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/dpop"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// supportedGrantTypes are the grants the token endpoint serves.
var supportedGrantTypes = []string{"authorization_code", "refresh_token", "client_credentials", "password", app.DeviceGrantType, app.TokenExchangeGrantType}

// token is POST /oauth2/token (RFC 6749 §3.2).
func (h *Handler) token(c *gin.Context) {
	r, w := c.Request, c.Writer
	ctx, st := withState(r.Context())
	ctx = withCaller(ctx, r) // client IP for the brute-force guard (throttle.go)

	gt, err := h.checkTokenRequest(w, r, st)
	if err != nil {
		h.writeTokenError(ctx, st, w, nil, err)
		return
	}
	grace := gt == "refresh_token" && h.cfg.RotateRefreshTokens && h.cfg.RefreshReuseGrace > 0
	if grace {
		st.mu.Lock()
		st.graceCheck = true
		st.mu.Unlock()
	}
	ar, resp, _, err := h.exchange(ctx, st, r)
	if grace && st.retryUnderLock() {
		// A concurrent refresh rotated the token first. Nothing of this
		// attempt was written (fosite rolled it back); decide again with
		// the family locked, where a retry within the grace gets the
		// winner's pair.
		jkt := st.proofJKT()
		ctx, st = withState(r.Context())
		st.dpopJKT = jkt // the proof was checked (and its jti used) once
		h.refreshInGrace(withCaller(ctx, r), st, w, r)
		return
	}
	if err != nil {
		h.writeTokenError(ctx, st, w, ar, err)
		return
	}
	if afterRefreshCommit != nil && gt == "refresh_token" {
		afterRefreshCommit() // crashhook.go: fault tests only
	}
	h.provider.WriteAccessResponse(ctx, w, ar, resp)
	h.auditIssued(ctx, r, ar) // audit.go
}

// checkTokenRequest is what the token endpoint checks before fosite sees
// the request: the body parses (bounded), the grant type is one we serve
// (RFC 6749 §5.2: unsupported_grant_type, where fosite says
// invalid_request; a missing one is left to fosite), the form has what
// the grant needs, and a DPoP proof, if any, holds. It returns the grant
// type.
func (h *Handler) checkTokenRequest(w http.ResponseWriter, r *http.Request, st *reqState) (string, error) {
	if err := r.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return "", fosite.ErrInvalidRequest.WithHint("Unable to parse the request body.")
	}
	gt := r.PostForm.Get("grant_type")
	if gt != "" && !slices.Contains(supportedGrantTypes, gt) {
		return "", fosite.ErrUnsupportedGrantType
	}
	if gt != "" {
		if err := checkTokenForm(r); err != nil {
			return "", err
		}
	}
	if err := h.tokenProof(w, r, st); err != nil {
		return "", err
	}
	return gt, nil
}

// exchange runs a token request through fosite: validation
// (NewAccessRequest) then issuance (NewAccessResponse). issuing reports
// whether a failure happened in the issuance phase, whose writes a caller
// holding an outer transaction must roll back (fosite's own rollback is a
// no-op inside one); validation-phase writes, such as the revocation of a
// family on refresh-token reuse, must be kept.
func (h *Handler) exchange(ctx context.Context, st *reqState, r *http.Request) (ar fosite.AccessRequester, resp fosite.AccessResponder, issuing bool, err error) {
	sess := newSession("", "", "")
	ar, err = h.provider.NewAccessRequest(ctx, r, sess)
	if err != nil {
		return ar, nil, false, err
	}
	client := ar.GetClient()
	if err := narrowRefreshScope(ar, st, r.PostForm.Get("scope")); err != nil {
		return ar, nil, false, err // RFC 6749 §6 (refreshscope.go)
	}
	s, ok := ar.GetSession().(*Session)
	if !ok {
		return ar, nil, false, fosite.ErrServerError.WithDebugf("session is %T", ar.GetSession())
	}
	s.ClientID = client.GetID()
	if err := bindDPoP(ar, s, st); err != nil {
		return ar, nil, false, err // RFC 9449 §5 (dpop.go)
	}
	if err := h.tokenResources(ctx, ar, s); err != nil {
		return ar, nil, false, err // RFC 8707 §2.2 (resource.go)
	}
	if err := h.grantPolicy(ctx, st, ar, s); err != nil {
		return ar, nil, false, err
	}
	// The ID token alg also selects the at_hash digest (FOSITE.md §1.3).
	s.IDTokenHeaders().Add("alg", h.clientIDTokenAlg(client))

	resp, err = h.provider.NewAccessResponse(ctx, ar)
	if err != nil {
		return ar, nil, true, err
	}
	if s.DPoPJKT != "" {
		resp.SetTokenType(TokenTypeDPoP)
	}
	st.mu.Lock()
	keep := st.keepRefresh
	st.mu.Unlock()
	if keep {
		// Rotation is off: hand the presented refresh token back.
		resp.SetExtra("refresh_token", ar.GetRequestForm().Get("refresh_token"))
	}
	return ar, resp, false, nil
}

// grantPolicy is each grant's own step between fosite's validation and
// issuance; grants not named here need none.
func (h *Handler) grantPolicy(ctx context.Context, st *reqState, ar fosite.AccessRequester, s *Session) error {
	switch gt := ar.GetGrantTypes(); {
	case gt.ExactOne("client_credentials"):
		clientCredentialsPolicy(ar, s)
	case gt.ExactOne("password"):
		grantRequested(ar)
		st.mu.Lock()
		s.Username = st.username
		st.mu.Unlock()
		passwordGrantAuthentication(s)
		return h.takeGroups(ctx, st, ar, s)
	case gt.ExactOne("refresh_token"):
		return h.takeGroups(ctx, st, ar, s)
	}
	return nil
}

// clientCredentialsPolicy: the client acts for itself (SPEC: sub is the
// client id) and the token belongs to no grant.
func clientCredentialsPolicy(ar fosite.AccessRequester, s *Session) {
	grantRequested(ar)
	s.SetSubject(ar.GetClient().GetID())
	ar.SetID(clientGrantPrefix + ar.GetID()) // grantless (store_tokens.go)
}

// grantRequested grants what was asked: fosite validated the requested
// scopes and audiences against the client but grants nothing for the
// client_credentials and password grants.
func grantRequested(ar fosite.AccessRequester) {
	for _, scope := range ar.GetRequestedScopes() {
		ar.GrantScope(scope)
	}
	for _, aud := range ar.GetRequestedAudience() {
		ar.GrantAudience(aud)
	}
}

// takeGroups puts the user's groups as of this token in the session
// (groups.go); a refresh takes them again, so a membership change
// reaches new tokens.
func (h *Handler) takeGroups(ctx context.Context, st *reqState, ar fosite.AccessRequester, s *Session) error {
	if err := h.grantGroups(ctx, s, ar.GetGrantedScopes()); err != nil {
		st.failStore(err)
		return fosite.ErrTemporarilyUnavailable.WithWrap(err)
	}
	return nil
}

// checkTokenForm applies the RFC 6749 checks fosite answers differently:
// a request without any client authentication is invalid_client (§5.2,
// fosite says invalid_request), and a grant's required parameter missing is
// invalid_request (fosite looks the empty value up and says invalid_grant).
func checkTokenForm(r *http.Request) error {
	form := r.PostForm
	if r.Header.Get("Authorization") == "" && form.Get("client_id") == "" && form.Get("client_assertion") == "" {
		return fosite.ErrInvalidClient.WithHint("No client authentication was included.")
	}
	required := map[string][]string{
		"authorization_code": {"code"},
		"refresh_token":      {"refresh_token"},
		"password":           {"username", "password"},
		app.DeviceGrantType:  {"device_code"},
		// RFC 8693 §2.1 (the *_type parameters are checked by exchange.go).
		app.TokenExchangeGrantType: {"subject_token"},
	}[form.Get("grant_type")]
	for _, p := range required {
		if form.Get(p) == "" {
			return fosite.ErrInvalidRequest.WithHintf("The '%s' parameter is missing.", p)
		}
	}
	return nil
}

// writeTokenError answers a failed token request through fosite's writer,
// after correcting what fosite cannot know: a storage outage is 503
// temporarily_unavailable (never invalid_grant/invalid_client, so clients
// do not throw their credentials away), a lost race is invalid_grant, and a
// replayed client assertion is invalid_client (RFC 7523 §3.2).
func (h *Handler) writeTokenError(ctx context.Context, st *reqState, w http.ResponseWriter, ar fosite.AccessRequester, err error) {
	err = h.correctError(ctx, st, err)
	h.setRetryAfter(w, err)
	rfc := fosite.ErrorToRFC6749Error(err)
	if rfc.CodeField >= 500 {
		h.logger.ErrorContext(ctx, "oauth: token request failed", "error", rfc.ErrorField, "debug", rfc.Debug(), "cause", errors.Unwrap(err))
	} else {
		h.logger.InfoContext(ctx, "oauth: token request refused", "error", rfc.ErrorField, "hint", rfc.HintField)
	}
	h.provider.WriteAccessError(ctx, w, ar, err)
}

// correctError maps fosite's view of a failure to the answer we give.
func (h *Handler) correctError(ctx context.Context, st *reqState, err error) error {
	if serr := st.storeFailure(); serr != nil {
		h.logger.ErrorContext(ctx, "oauth: storage failure", "err", serr)
		return fosite.ErrTemporarilyUnavailable.WithWrap(serr).WithDebug(serr.Error())
	}
	if locked := lockedAnswer(err); locked != nil {
		return locked
	}
	if errors.Is(err, errSecondFactorRequired) {
		return fosite.ErrInvalidGrant.WithWrap(err).WithHint("This account signs in with a second factor; use the authorization code flow.")
	}
	if errors.Is(err, app.ErrEmailUnverified) {
		// Only after the right password (app.Passwords), so the hint
		// tells a stranger nothing.
		return fosite.ErrInvalidGrant.WithWrap(err).WithHint("The account's email address is not verified yet: open the link that was mailed, or ask for a new one at " +
			strings.TrimRight(h.cfg.Issuer, "/") + app.PathResendVerification + ".")
	}
	if st.lostRace() {
		return fosite.ErrInvalidGrant.WithWrap(err).WithHint("The grant was used by a concurrent request.")
	}
	switch {
	case errors.Is(err, fosite.ErrJTIKnown):
		return fosite.ErrInvalidClient.WithWrap(err).WithHint("The client assertion was already used.")
	case errors.Is(err, fosite.ErrInactiveToken), errors.Is(err, fosite.ErrTokenExpired):
		return fosite.ErrInvalidGrant.WithWrap(err)
	}
	return err
}

// errRollback makes refreshInGrace's transaction roll back after an
// answer was already decided.
var errRollback = errors.New("oauth: roll back")

// refreshInGrace decides a rotating refresh with a grace window that met a
// concurrently rotated token (token: the common, uncontended refresh runs
// through fosite alone). It runs in one transaction that first locks the
// family's grant row (LockGrant), so concurrent refreshes of one token — on
// this instance or any other — decide one after another on committed
// state:
//   - the token is live: the usual rotation through fosite;
//   - it was rotated less than RefreshReuseGrace ago and its successor is
//     still live: the very same successor pair again (a retry after a lost
//     response, a second tab, a process killed after its commit);
//   - anything else goes through fosite, where a rotated token is reuse and
//     revokes the family (RFC 9700 §4.14).
//
// The answer is written only after the commit: a client never holds a
// token that was not stored. The audit row of the rotation is part of the
// transaction.
func (h *Handler) refreshInGrace(ctx context.Context, st *reqState, w http.ResponseWriter, r *http.Request) {
	var (
		ar     fosite.AccessRequester
		resp   fosite.AccessResponder
		answer error // the protocol error to send, if any
		replay *successor
	)
	err := storage.InTx(ctx, h.store, func(ctx context.Context) error {
		rec, found, err := h.lockRefreshFamily(ctx, r.PostForm.Get("refresh_token"))
		if err != nil {
			st.failStore(err)
			return err
		}
		if found {
			succ, handled, err := h.graceSuccessor(ctx, r, rec)
			if handled {
				replay, answer = succ, err
				return nil
			}
		}
		var issuing bool
		ar, resp, issuing, answer = h.exchange(ctx, st, r)
		if answer != nil {
			if issuing || st.storeFailure() != nil {
				return errRollback
			}
			return nil // keep what validation wrote: a reuse revocation
		}
		return nil // the audit row is in the rotation (CreateRefreshTokenSession)
	})
	if err != nil && !errors.Is(err, errRollback) {
		st.failStore(fmt.Errorf("refresh transaction: %w", err))
		if answer == nil {
			answer = fosite.ErrTemporarilyUnavailable
		}
	}
	if answer != nil {
		h.writeTokenError(ctx, st, w, ar, answer)
		return
	}
	if afterRefreshCommit != nil && replay == nil {
		afterRefreshCommit() // crashhook.go: fault tests only
	}
	if replay == nil {
		defer h.auditIssued(ctx, r, ar) // the log line; the row is in the transaction
	}
	if replay != nil {
		out := fosite.NewAccessResponse()
		out.SetAccessToken(replay.AccessToken)
		out.SetTokenType("bearer")
		if replay.DPoPJKT != "" {
			out.SetTokenType(TokenTypeDPoP)
		}
		out.SetExpiresIn(time.Until(replay.ExpiresAt).Round(time.Second))
		out.SetScopes(replay.Scope)
		out.SetExtra("refresh_token", replay.RefreshToken)
		h.logger.InfoContext(ctx, "oauth: refresh retried within grace window")
		h.provider.WriteAccessResponse(ctx, w, nil, out)
		return
	}
	h.provider.WriteAccessResponse(ctx, w, ar, resp)
}

// lockRefreshFamily locks the grant of the presented refresh token and
// returns the token's row as committed once the lock is held. found is
// false when there is no such token (fosite then answers).
func (h *Handler) lockRefreshFamily(ctx context.Context, presented string) (storage.TokenRecord, bool, error) {
	sig := h.strategy.RefreshTokenSignature(ctx, presented)
	if sig == "" {
		return storage.TokenRecord{}, false, nil
	}
	hash := secret.HashToken(sig)
	rec, err := h.store.GetToken(ctx, storage.KindRefreshToken, hash)
	if isNotFound(err) {
		return rec, false, nil
	} else if err != nil {
		return rec, false, fmt.Errorf("get refresh token: %w", err)
	}
	if err := h.store.LockGrant(ctx, rec.RequestID); isNotFound(err) {
		return rec, false, nil
	} else if err != nil {
		return rec, false, fmt.Errorf("lock grant: %w", err)
	}
	// Read again: a refresh that held the lock before us has committed.
	rec, err = h.store.GetToken(ctx, storage.KindRefreshToken, hash)
	if err != nil {
		return rec, false, fmt.Errorf("get refresh token: %w", err)
	}
	return rec, true, nil
}

// graceSuccessor decides, with the family locked, whether rec is a token
// rotated within the grace whose successor is still live; then it returns
// that successor (handled) or the error to answer (handled, e.g. another
// client presenting it). Not handled: fosite decides (live token, or reuse).
func (h *Handler) graceSuccessor(ctx context.Context, r *http.Request, rec storage.TokenRecord) (*successor, bool, error) {
	presented := r.PostForm.Get("refresh_token")
	if rec.Active || rec.FirstUsedAt == nil || len(rec.Successor) == 0 ||
		h.now().Sub(*rec.FirstUsedAt) > h.cfg.RefreshReuseGrace {
		return nil, false, nil
	}
	// The signature matched; the key part must match it too.
	if !strings.HasPrefix(presented, prefixRefreshToken) ||
		h.strategy.hmac.Enigma.Validate(ctx, strings.TrimPrefix(presented, prefixRefreshToken)) != nil {
		return nil, false, nil
	}
	succ, err := h.adapter.openSuccessor(rec, presented)
	if err != nil {
		h.logger.WarnContext(ctx, "oauth: unreadable refresh successor", "err", err)
		return nil, false, nil
	}
	// The successor must still be the live refresh token: an older token
	// (rotated twice) is reuse, not a retry.
	next, err := h.store.GetToken(ctx, storage.KindRefreshToken, secret.HashToken(h.strategy.RefreshTokenSignature(ctx, succ.RefreshToken)))
	if err != nil && !isNotFound(err) {
		return nil, true, h.adapter.fail(ctx, "get refresh successor", err)
	}
	if err != nil || !next.Active {
		return nil, false, nil
	}
	// Only the client the token was issued to may retry.
	client, err := h.provider.AuthenticateClient(ctx, r, r.PostForm)
	if err != nil {
		return nil, true, err
	}
	if client.GetID() != rec.ClientID {
		return nil, true, fosite.ErrInvalidGrant.WithHint("The refresh token was issued to another client.")
	}
	if err := h.adapter.checkGrant(ctx, rec.RequestID); err != nil {
		return nil, true, fosite.ErrInvalidGrant.WithWrap(err)
	}
	// The successor's access token is bound to the key of the first
	// attempt: only that key may fetch it again (RFC 9449 §5).
	if succ.DPoPJKT != "" && stateOf(ctx).proofJKT() != succ.DPoPJKT {
		return nil, true, errDPoP(&dpop.Error{Code: dpop.CodeInvalidProof, Description: "The refresh token is bound to another DPoP key."})
	}
	return &succ, true, nil
}

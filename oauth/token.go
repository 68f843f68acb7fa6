package oauth

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ory/fosite"

	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// supportedGrantTypes are the grants the token endpoint serves.
var supportedGrantTypes = []string{"authorization_code", "refresh_token", "client_credentials", "password"}

// token is POST /oauth2/token (RFC 6749 §3.2).
func (h *Handler) token(c *gin.Context) {
	r, w := c.Request, c.Writer
	ctx, st := withState(r.Context())
	ctx = withCaller(ctx, r) // client IP for the brute-force guard (throttle.go)

	// RFC 6749 §5.2: an unknown grant type is unsupported_grant_type
	// (fosite says invalid_request). A missing one is left to fosite.
	if err := r.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		h.writeTokenError(ctx, st, w, nil, fosite.ErrInvalidRequest.WithHint("Unable to parse the request body."))
		return
	}
	gt := r.PostForm.Get("grant_type")
	if gt != "" && !slices.Contains(supportedGrantTypes, gt) {
		h.writeTokenError(ctx, st, w, nil, fosite.ErrUnsupportedGrantType)
		return
	}
	if gt != "" {
		if err := checkTokenForm(r); err != nil {
			h.writeTokenError(ctx, st, w, nil, err)
			return
		}
	}
	if gt == "refresh_token" && h.cfg.RotateRefreshTokens && h.cfg.RefreshReuseGrace > 0 {
		if h.replayWithinGrace(ctx, st, w, r) {
			return
		}
	}

	sess := newSession("", "", "")
	ar, err := h.provider.NewAccessRequest(ctx, r, sess)
	if err != nil {
		if ar != nil && ar.GetClient() != nil && ar.GetClient().IsPublic() && errors.Is(err, fosite.ErrInvalidGrant) &&
			(gt == "client_credentials" || gt == "password") {
			// fosite says invalid_grant; RFC 6749 §5.2 says the client is
			// not authorized to use this grant type.
			err = fosite.ErrUnauthorizedClient.WithHintf("Public clients cannot use the '%s' grant.", gt)
		}
		h.writeTokenError(ctx, st, w, ar, err)
		return
	}
	client := ar.GetClient()
	if err := refreshScopeError(ar, r.PostForm.Get("scope")); err != nil {
		h.writeTokenError(ctx, st, w, ar, err) // RFC 6749 §6 (refreshscope.go)
		return
	}
	s, ok := ar.GetSession().(*Session)
	if !ok {
		h.writeTokenError(ctx, st, w, ar, fosite.ErrServerError.WithDebugf("session is %T", ar.GetSession()))
		return
	}
	s.ClientID = client.GetID()
	if ar.GetGrantTypes().ExactOne("client_credentials") || ar.GetGrantTypes().ExactOne("password") {
		// fosite validated the requested scopes and audiences against the
		// client but grants nothing for these two grants.
		for _, scope := range ar.GetRequestedScopes() {
			ar.GrantScope(scope)
		}
		for _, aud := range ar.GetRequestedAudience() {
			ar.GrantAudience(aud)
		}
	}
	if ar.GetGrantTypes().ExactOne("client_credentials") {
		// SPEC: sub is the client id for client_credentials.
		s.SetSubject(client.GetID())
		// Marks the token grantless (store_tokens.go, clientGrantPrefix).
		ar.SetID(clientGrantPrefix + ar.GetID())
	}
	if ar.GetGrantTypes().ExactOne("password") {
		st.mu.Lock()
		s.Username = st.username
		st.mu.Unlock()
	}
	// The ID token alg also selects the at_hash digest (FOSITE.md §1.3).
	s.IDTokenHeaders().Add("alg", h.clientIDTokenAlg(client))

	resp, err := h.provider.NewAccessResponse(ctx, ar)
	if err != nil {
		h.writeTokenError(ctx, st, w, ar, err)
		return
	}
	st.mu.Lock()
	keep := st.keepRefresh
	st.mu.Unlock()
	if keep {
		// Rotation is off: hand the presented refresh token back.
		resp.SetExtra("refresh_token", ar.GetRequestForm().Get("refresh_token"))
	}
	h.provider.WriteAccessResponse(ctx, w, ar, resp)
	h.auditIssued(ctx, r, ar) // audit.go
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

// replayWithinGrace answers a refresh request idempotently when the
// presented token was rotated less than RefreshReuseGrace ago and its
// successor is still the live token: the client gets the very same pair
// again (a retry after a lost response, Hydra's graceful rotation).
// Anything else goes through fosite, where reuse revokes the grant. It
// returns true when it wrote the response.
func (h *Handler) replayWithinGrace(ctx context.Context, st *reqState, w http.ResponseWriter, r *http.Request) bool {
	presented := r.PostForm.Get("refresh_token")
	sig := h.strategy.RefreshTokenSignature(ctx, presented)
	if sig == "" {
		return false
	}
	rec, err := h.store.GetToken(ctx, storage.KindRefreshToken, secret.HashToken(sig))
	if err != nil || rec.Active || rec.FirstUsedAt == nil || len(rec.Successor) == 0 {
		// Errors are met again (and answered) by fosite.
		return false
	}
	if h.now().Sub(*rec.FirstUsedAt) > h.cfg.RefreshReuseGrace {
		return false
	}
	succ, err := h.adapter.openSuccessor(rec)
	if err != nil {
		h.logger.WarnContext(ctx, "oauth: unreadable refresh successor", "err", err)
		return false
	}
	// The successor must still be the live refresh token: an older token
	// (rotated twice) is reuse, not a retry.
	next, err := h.store.GetToken(ctx, storage.KindRefreshToken, secret.HashToken(h.strategy.RefreshTokenSignature(ctx, succ.RefreshToken)))
	if err != nil || !next.Active {
		return false
	}
	// The signature matched; the key part must match it too.
	if !strings.HasPrefix(presented, prefixRefreshToken) ||
		h.strategy.hmac.Enigma.Validate(ctx, strings.TrimPrefix(presented, prefixRefreshToken)) != nil {
		return false
	}
	// Only the client the token was issued to may retry.
	client, err := h.provider.AuthenticateClient(ctx, r, r.PostForm)
	if err != nil {
		h.writeTokenError(ctx, st, w, nil, err)
		return true
	}
	if client.GetID() != rec.ClientID {
		h.writeTokenError(ctx, st, w, nil, fosite.ErrInvalidGrant.WithHint("The refresh token was issued to another client."))
		return true
	}
	if err := h.adapter.checkGrant(ctx, rec.RequestID); err != nil {
		h.writeTokenError(ctx, st, w, nil, fosite.ErrInvalidGrant.WithWrap(err))
		return true
	}
	resp := fosite.NewAccessResponse()
	resp.SetAccessToken(succ.AccessToken)
	resp.SetTokenType("bearer")
	resp.SetExpiresIn(time.Until(succ.ExpiresAt).Round(time.Second))
	resp.SetScopes(succ.Scope)
	resp.SetExtra("refresh_token", succ.RefreshToken)
	h.logger.InfoContext(ctx, "oauth: refresh retried within grace window", "client_id", rec.ClientID)
	h.provider.WriteAccessResponse(ctx, w, nil, resp)
	return true
}

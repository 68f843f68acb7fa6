package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ory/fosite"
	fstorage "github.com/ory/fosite/storage"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/httpx"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// The device authorization grant (RFC 8628), our own handler beside
// fosite's (fosite v0.49 has none). Two halves:
//
//   - POST /oauth2/device_authorization (§3.1–3.2): the device (a CLI, a
//     TV) authenticates as its client and gets a device code, which it
//     keeps, and a user code, which the person types at /device (package
//     web, which records the decision through internal/app.Devices).
//   - the grant urn:ietf:params:oauth:grant-type:device_code at the token
//     endpoint (§3.4–3.5): a fosite TokenEndpointHandler, so client
//     authentication, the grant-type check, error writing, the token
//     strategy (JWT or opaque), the storage adapter (grant row, sealed
//     records, refresh family), audit and metrics are those of every
//     other grant.
//
// Both codes are stored only as hashes (app.DeviceCodeHash,
// app.UserCodeHash). Polling is enforced per device code in the store
// (storage.DeviceStore.PollDeviceGrant): a poll sooner than the interval
// answers slow_down and raises the interval by 5 s (§3.5); one poll is one
// conditional write. Redemption is a conditional update: a device code
// gives tokens once.

// PathDeviceAuthorization is the device authorization endpoint.
const PathDeviceAuthorization = "/oauth2/device_authorization"

// PathDeviceVerification is the verification page (mounted by package
// web, which cannot import this package; internal/server checks both
// agree).
const PathDeviceVerification = "/device"

// deviceSlowDown is how much a too-early poll adds to the interval
// (RFC 8628 §3.5: "MUST be increased by 5 seconds").
const deviceSlowDown = 5 * time.Second

// deviceCodeBytes is the entropy of a device code (a bearer secret).
const deviceCodeBytes = 32

// RFC 8628 §3.5 error codes; fosite v0.49 has none of them.
var (
	errAuthorizationPending = &fosite.RFC6749Error{ErrorField: "authorization_pending", CodeField: http.StatusBadRequest,
		DescriptionField: "The authorization request is still pending."}
	errSlowDown = &fosite.RFC6749Error{ErrorField: "slow_down", CodeField: http.StatusBadRequest,
		DescriptionField: "The authorization request is still pending and polling is too fast."}
	errExpiredToken = &fosite.RFC6749Error{ErrorField: "expired_token", CodeField: http.StatusBadRequest,
		DescriptionField: "The device code has expired."}
	// access_denied is 400 here like every RFC 6749 §5.2 token error
	// (fosite's ErrAccessDenied is the authorize endpoint's 403).
	errDeviceDenied = &fosite.RFC6749Error{ErrorField: "access_denied", CodeField: http.StatusBadRequest,
		DescriptionField: "The authorization request was denied."}
)

// deviceAuthorizationResponse is RFC 8628 §3.2.
type deviceAuthorizationResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
}

// deviceAuthorization is POST /oauth2/device_authorization.
func (h *Handler) deviceAuthorization(c *gin.Context) {
	w, r := c.Writer, c.Request
	ctx, st := withState(r.Context())
	ctx = withCaller(ctx, r)
	resp, err := h.newDeviceGrant(ctx, r)
	if err != nil {
		h.writeTokenError(ctx, st, w, nil, err)
		return
	}
	if serr := st.storeFailure(); serr != nil {
		h.writeTokenError(ctx, st, w, nil, fosite.ErrTemporarilyUnavailable.WithWrap(serr))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	c.JSON(http.StatusOK, resp)
}

func (h *Handler) newDeviceGrant(ctx context.Context, r *http.Request) (*deviceAuthorizationResponse, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return nil, fosite.ErrInvalidRequest.WithHint("Unable to parse the request body.")
	}
	form := r.PostForm
	if r.Header.Get("Authorization") == "" && form.Get("client_id") == "" && form.Get("client_assertion") == "" {
		return nil, fosite.ErrInvalidClient.WithHint("No client authentication was included.")
	}
	client, err := h.provider.AuthenticateClient(ctx, r, form)
	if err != nil {
		return nil, err
	}
	if !client.GetGrantTypes().Has(app.DeviceGrantType) {
		return nil, fosite.ErrUnauthorizedClient.WithHintf("The client is not allowed to use the '%s' grant.", app.DeviceGrantType)
	}
	scopes := fosite.RemoveEmpty(strings.Split(form.Get("scope"), " "))
	for _, s := range scopes {
		if !h.fcfg.GetScopeStrategy(ctx)(client.GetScopes(), s) {
			return nil, fosite.ErrInvalidScope.WithHintf("The OAuth 2.0 Client is not allowed to request scope '%s'.", s)
		}
	}
	audience := fosite.GetAudiences(form)
	if err := h.fcfg.GetAudienceStrategy(ctx)(client.GetAudience(), audience); err != nil {
		return nil, err
	}
	deviceCode, err := secret.RandomToken(deviceCodeBytes)
	if err != nil {
		return nil, fosite.ErrServerError.WithWrap(err)
	}
	now := h.now().UTC()
	g := storage.DeviceGrant{
		DeviceCodeHash: app.DeviceCodeHash(deviceCode), ClientID: client.GetID(),
		Scopes: scopes, Audience: audience, State: storage.DevicePending,
		Interval: h.cfg.DevicePollInterval, CreatedAt: now, ExpiresAt: now.Add(h.cfg.DeviceCodeLifetime),
	}
	var userCode string
	for attempt := 0; ; attempt++ {
		if userCode, err = app.NewUserCode(); err != nil {
			return nil, fosite.ErrServerError.WithWrap(err)
		}
		g.UserCodeHash = app.UserCodeHash(h.ring, userCode)
		err = h.store.CreateDeviceGrant(ctx, g)
		if err == nil {
			break
		}
		// A user code still in use (1 in 2^34 per live code): draw again.
		if !errors.Is(err, storage.ErrConflict) || attempt == 2 {
			stateOf(ctx).failStore(fmt.Errorf("create device grant: %w", err))
			return nil, fosite.ErrTemporarilyUnavailable.WithWrap(err)
		}
	}
	verify := h.cfg.Issuer + PathDeviceVerification
	h.logger.InfoContext(ctx, "audit", "type", "device.requested", "client_id", client.GetID(),
		"scope", strings.Join(scopes, " "), "ip", httpx.RequestIP(r), "outcome", "success")
	return &deviceAuthorizationResponse{
		DeviceCode: deviceCode, UserCode: userCode,
		VerificationURI:         verify,
		VerificationURIComplete: verify + "?user_code=" + url.QueryEscape(userCode),
		ExpiresIn:               int(h.cfg.DeviceCodeLifetime / time.Second),
		Interval:                int(h.cfg.DevicePollInterval / time.Second),
	}, nil
}

// deviceGrantHandler is the token endpoint handler of the device_code
// grant.
type deviceGrantHandler struct{ h *Handler }

var _ fosite.TokenEndpointHandler = deviceGrantHandler{}

func (deviceGrantHandler) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool {
	return false
}

func (deviceGrantHandler) CanHandleTokenEndpointRequest(_ context.Context, ar fosite.AccessRequester) bool {
	return ar.GetGrantTypes().ExactOne(app.DeviceGrantType)
}

// HandleTokenEndpointRequest is RFC 8628 §3.4–3.5: one poll of the
// device code, then the answer its state gives.
func (d deviceGrantHandler) HandleTokenEndpointRequest(ctx context.Context, ar fosite.AccessRequester) error {
	if !d.CanHandleTokenEndpointRequest(ctx, ar) {
		return fosite.ErrUnknownRequest
	}
	h := d.h
	code := ar.GetRequestForm().Get("device_code")
	hash := app.DeviceCodeHash(code)
	now := h.now().UTC()
	g, tooFast, err := h.store.PollDeviceGrant(ctx, hash, now, deviceSlowDown)
	if isNotFound(err) {
		return fosite.ErrInvalidGrant.WithHint("The device code is not valid.")
	} else if err != nil {
		return h.adapter.fail(ctx, "poll device grant", err)
	}
	client := ar.GetClient()
	if g.ClientID != client.GetID() {
		return fosite.ErrInvalidGrant.WithHint("The device code was issued to another client.")
	}
	switch {
	case g.State == storage.DeviceRedeemed:
		return fosite.ErrInvalidGrant.WithHint("The device code was already used.")
	case !now.Before(g.ExpiresAt):
		return errExpiredToken
	case g.State == storage.DeviceDenied:
		return errDeviceDenied.WithHint("The user denied the request.")
	case g.State == storage.DevicePending && tooFast:
		return errSlowDown.WithHintf("Wait at least %d seconds between requests.", int(g.Interval/time.Second))
	case g.State == storage.DevicePending:
		return errAuthorizationPending
	}
	// Approved: the request becomes the user's grant.
	u, err := h.store.GetUser(ctx, g.UserID)
	if isNotFound(err) || (err == nil && u.Disabled) {
		return errDeviceDenied.WithHint("The user who approved the request can no longer sign in.")
	} else if err != nil {
		return h.adapter.fail(ctx, "get user", err)
	}
	ar.SetRequestedScopes(g.Scopes)
	for _, s := range g.GrantedScopes {
		ar.GrantScope(s)
	}
	ar.SetRequestedAudience(g.Audience)
	aud := g.Audience
	if len(aud) == 0 {
		if c, ok := client.(*Client); ok {
			aud = c.defaultAudience()
		}
	}
	for _, a := range aud {
		ar.GrantAudience(a)
	}
	s, ok := ar.GetSession().(*Session)
	if !ok {
		return fosite.ErrServerError.WithDebugf("session is %T", ar.GetSession())
	}
	s.SetSubject(u.ID)
	s.Username = u.Username
	s.ClientID = client.GetID()
	s.LoginSessionID = g.SessionID
	claims := s.IDTokenClaims()
	claims.RequestedAt = g.CreatedAt
	// auth_time is when the user signed in, not when they approved.
	if g.SessionID != "" {
		ls, err := h.store.GetSession(ctx, g.SessionID)
		if err != nil && !isNotFound(err) {
			return h.adapter.fail(ctx, "get login session", err)
		}
		if err == nil {
			claims.AuthTime = ls.AuthTime
			s.IDTokenClaims().AuthenticationMethodsReferences = ls.AMR
		}
	}
	if err := h.grantGroups(ctx, s, ar.GetGrantedScopes()); err != nil {
		return h.adapter.fail(ctx, "load groups", err)
	}
	atLife := fosite.GetEffectiveLifespan(client, fosite.GrantTypeAuthorizationCode, fosite.AccessToken, h.fcfg.AccessTokenLifespan)
	s.SetExpiresAt(fosite.AccessToken, now.Add(atLife).Round(time.Second))
	if d.issuesRefresh(ar) {
		rtLife := fosite.GetEffectiveLifespan(client, fosite.GrantTypeAuthorizationCode, fosite.RefreshToken, h.fcfg.RefreshTokenLifespan)
		if rtLife > 0 {
			s.SetExpiresAt(fosite.RefreshToken, now.Add(rtLife).Round(time.Second))
		}
	}
	return nil
}

// issuesRefresh: SPEC "Tokens" — the client is allowed refresh_token and
// offline_access was granted.
func (d deviceGrantHandler) issuesRefresh(ar fosite.AccessRequester) bool {
	return ar.GetClient().GetGrantTypes().Has("refresh_token") && ar.GetGrantedScopes().HasOneOf(d.h.fcfg.RefreshTokenScopes...)
}

// PopulateTokenEndpointResponse issues the tokens and redeems the device
// code in one transaction: of concurrent polls of an approved code exactly
// one wins (RedeemDeviceGrant), the others get invalid_grant.
func (d deviceGrantHandler) PopulateTokenEndpointResponse(ctx context.Context, ar fosite.AccessRequester, resp fosite.AccessResponder) (err error) {
	if !d.CanHandleTokenEndpointRequest(ctx, ar) {
		return fosite.ErrUnknownRequest
	}
	h := d.h
	at, atSig, err := h.strategy.GenerateAccessToken(ctx, ar)
	if err != nil {
		return fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
	}
	var rt, rtSig string
	if d.issuesRefresh(ar) {
		if rt, rtSig, err = h.strategy.GenerateRefreshToken(ctx, ar); err != nil {
			return fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
		}
	}
	var idToken string
	if ar.GetGrantedScopes().Has("openid") {
		life := fosite.GetEffectiveLifespan(ar.GetClient(), fosite.GrantTypeAuthorizationCode, fosite.IDToken, h.fcfg.IDTokenLifespan)
		if idToken, err = h.idTokens.GenerateIDToken(ctx, life, ar); err != nil {
			return err
		}
	}
	ctx, err = fstorage.MaybeBeginTx(ctx, h.adapter)
	if err != nil {
		return fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
	}
	defer func() {
		if err != nil {
			if rbErr := fstorage.MaybeRollbackTx(ctx, h.adapter); rbErr != nil {
				h.logger.WarnContext(ctx, "oauth: device grant rollback", "err", rbErr)
			}
		}
	}()
	code := ar.GetRequestForm().Get("device_code")
	if rerr := h.store.RedeemDeviceGrant(ctx, app.DeviceCodeHash(code)); rerr != nil {
		if isConflict(rerr) || isNotFound(rerr) {
			return fosite.ErrInvalidGrant.WithHint("The device code was already used.")
		}
		return h.adapter.fail(ctx, "redeem device grant", rerr)
	}
	stored := ar.Sanitize(nil)
	if err = h.adapter.CreateAccessTokenSession(ctx, atSig, stored); err != nil {
		return err
	}
	if rtSig != "" {
		if err = h.adapter.CreateRefreshTokenSession(ctx, rtSig, atSig, stored); err != nil {
			return err
		}
	}
	if err = fstorage.MaybeCommitTx(ctx, h.adapter); err != nil {
		return fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
	}
	resp.SetAccessToken(at)
	resp.SetTokenType("bearer")
	resp.SetExpiresIn(time.Until(ar.GetSession().GetExpiresAt(fosite.AccessToken)).Round(time.Second))
	resp.SetScopes(ar.GetGrantedScopes())
	if rt != "" {
		resp.SetExtra("refresh_token", rt)
	}
	if idToken != "" {
		resp.SetExtra("id_token", idToken)
	}
	return nil
}

package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ory/fosite"

	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// Pushed authorization requests (RFC 9126) through fosite's own handler
// (compose.PushedAuthorizeHandlerFactory): the client posts its
// authorization request to POST /oauth2/par, authenticated as at the
// token endpoint, and gets a request_uri (urn:ietf:params:oauth:request_uri:
// + 256 random bits) to send to the authorization endpoint with its
// client_id. What fosite leaves to us:
//
//   - storage (fosite.PARStorage): the request is a storage.TokenRecord of
//     kind "par", keyed by the hash of the request_uri and sealed like
//     every other record; the client's credentials (client_secret,
//     client_assertion) are dropped from the stored form first.
//   - single use (§4: "one-time use"): GetPARSession claims the record with
//     a conditional update (DeactivateToken), so of two uses — concurrent
//     or not — exactly one finds it; fosite's DeletePARSession then only
//     removes the row.
//   - only the pushed parameters count (§4): authorizeProvider gives
//     fosite nothing of the front-channel request but client_id and
//     request_uri.
//   - requiring PAR, per client or for everyone, is decided by package
//     oidc (RequiresPushedRequest), which knows whether a request is new or
//     the resumption of one already validated.

// PathPAR is the pushed authorization request endpoint.
const PathPAR = "/oauth2/par"

// PARRequestURIPrefix starts every request_uri (RFC 9126 §2.2).
const PARRequestURIPrefix = "urn:ietf:params:oauth:request_uri:"

// kindPAR is the storage kind of a pushed request.
const kindPAR storage.TokenKind = "par"

// parLifetime is how long a request_uri may be used: it is meant to be
// used at once, by the redirect that follows the push (RFC 9126 §2.2
// suggests 5 to 600 seconds).
const parLifetime = 90 * time.Second

// parDropped are the parameters a pushed request keeps out of storage:
// the client's credentials of the push itself.
var parDropped = []string{"client_secret", "client_assertion", "client_assertion_type"}

// IsPushedRequest reports whether an authorization request refers to a
// pushed one (package oidc asks before it requires one).
func IsPushedRequest(form url.Values) bool {
	return strings.HasPrefix(form.Get("request_uri"), PARRequestURIPrefix)
}

// RequiresPushedRequest reports whether an authorization request of
// client must come through PAR: the server requires it
// (Config.RequirePushedAuthorizationRequests) or the client's
// registration does (require_pushed_authorization_requests, RFC 9126 §6).
func (h *Handler) RequiresPushedRequest(client storage.Client) bool {
	return h.cfg.RequirePushedAuthorizationRequests || client.RequirePushedAuthorizationRequests
}

// par is POST /oauth2/par.
func (h *Handler) par(c *gin.Context) {
	w, r := c.Writer, c.Request
	ctx, st := withState(r.Context())
	ctx = withCaller(ctx, r)
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		h.provider.WritePushedAuthorizeError(ctx, w, nil, fosite.ErrInvalidRequest.WithHint("Unable to parse the request body."))
		return
	}
	if r.Header.Get("Authorization") == "" && r.PostForm.Get("client_id") == "" && r.PostForm.Get("client_assertion") == "" {
		h.writePARError(ctx, st, w, nil, fosite.ErrInvalidClient.WithHint("No client authentication was included."))
		return
	}
	// RFC 6749 §4.1.1 makes state optional; fosite requires one (see
	// authorizeProvider): a marker stands in and is removed at authorize.
	if r.Form.Get("state") == "" {
		r.Form.Set("state", noStateMarker)
	}
	ar, err := h.provider.NewPushedAuthorizeRequest(ctx, r)
	if err != nil {
		h.writePARError(ctx, st, w, ar, err)
		return
	}
	if !ar.GetResponseTypes().ExactOne("code") {
		h.writePARError(ctx, st, w, ar, fosite.ErrUnsupportedResponseType.WithHint("Only response_type=code is supported."))
		return
	}
	resp, err := h.provider.NewPushedAuthorizeResponse(ctx, ar, newSession("", "", ar.GetClient().GetID()))
	if err != nil {
		h.writePARError(ctx, st, w, ar, err)
		return
	}
	if serr := st.storeFailure(); serr != nil {
		h.writePARError(ctx, st, w, ar, fosite.ErrTemporarilyUnavailable.WithWrap(serr))
		return
	}
	h.logger.InfoContext(ctx, "oauth: authorization request pushed", "client_id", ar.GetClient().GetID())
	h.provider.WritePushedAuthorizeResponse(ctx, w, ar, resp)
}

func (h *Handler) writePARError(ctx context.Context, st *reqState, w http.ResponseWriter, ar fosite.AuthorizeRequester, err error) {
	err = h.correctError(ctx, st, err)
	h.setRetryAfter(w, err)
	rfc := fosite.ErrorToRFC6749Error(err)
	if rfc.CodeField >= 500 {
		h.logger.ErrorContext(ctx, "oauth: pushed authorization request failed", "error", rfc.ErrorField, "debug", rfc.Debug())
	}
	h.provider.WritePushedAuthorizeError(ctx, w, ar, err)
}

// parRecord is the sealed form of a pushed request: the stored request
// plus the authorization fields fosite restores from it.
type parRecord struct {
	storedRequest
	RedirectURI   string   `json:"redirect_uri,omitempty"`
	ResponseTypes []string `json:"response_types,omitempty"`
	State         string   `json:"state,omitempty"`
	ResponseMode  string   `json:"response_mode,omitempty"`
}

// CreatePARSession implements fosite.PARStorage.
func (f *fositeStore) CreatePARSession(ctx context.Context, requestURI string, ar fosite.AuthorizeRequester) error {
	hash := secret.HashToken(requestURI)
	form := url.Values{}
	for k, v := range ar.GetRequestForm() {
		if !slices.Contains(parDropped, k) {
			form[k] = slices.Clone(v)
		}
	}
	sess, err := json.Marshal(ar.GetSession())
	if err != nil {
		return fmt.Errorf("oauth: marshal session: %w", err)
	}
	var redirect string
	if u := ar.GetRedirectURI(); u != nil {
		redirect = u.String()
	}
	rec := parRecord{
		storedRequest: storedRequest{requestFields: requestFields{
			ID: ar.GetID(), RequestedAt: ar.GetRequestedAt(), ClientID: ar.GetClient().GetID(),
			RequestedScopes: ar.GetRequestedScopes(), RequestedAudience: ar.GetRequestedAudience(), Form: form,
		}, Session: sess},
		RedirectURI: redirect, ResponseTypes: ar.GetResponseTypes(), State: ar.GetState(),
		ResponseMode: string(ar.GetResponseMode()),
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("oauth: marshal pushed request: %w", err)
	}
	data, err := f.ring.Seal(b, aad(kindPAR, hash))
	if err != nil {
		return fmt.Errorf("oauth: seal pushed request: %w", err)
	}
	now := f.now().UTC()
	return f.fail(ctx, "create pushed request", f.s.CreateToken(ctx, storage.TokenRecord{
		Kind: kindPAR, Signature: hash, RequestID: ar.GetID(), ClientID: ar.GetClient().GetID(), Active: true,
		RequestedAt: now, ExpiresAt: now.Add(parLifetime), Data: data,
	}))
}

// GetPARSession implements fosite.PARStorage and claims the request: a
// second call for the same request_uri finds nothing.
func (f *fositeStore) GetPARSession(ctx context.Context, requestURI string) (fosite.AuthorizeRequester, error) {
	if !strings.HasPrefix(requestURI, PARRequestURIPrefix) || len(requestURI) > 200 {
		return nil, fosite.ErrNotFound
	}
	hash := secret.HashToken(requestURI)
	rec, err := f.s.GetToken(ctx, kindPAR, hash)
	if err != nil {
		return nil, f.fail(ctx, "get pushed request", err)
	}
	now := f.now()
	if !rec.Active || !now.Before(rec.ExpiresAt) {
		return nil, fosite.ErrNotFound.WithDebug("pushed request used or expired")
	}
	if err := f.s.DeactivateToken(ctx, kindPAR, hash, now.UTC(), nil); err != nil {
		if isConflict(err) || isNotFound(err) {
			return nil, fosite.ErrNotFound.WithDebug("pushed request used concurrently")
		}
		return nil, f.fail(ctx, "claim pushed request", err)
	}
	b, err := f.ring.Open(rec.Data, aad(kindPAR, hash))
	if err != nil {
		return nil, f.fail(ctx, "open pushed request", err)
	}
	sess := f.newSession()
	pr := struct {
		requestFields
		Session       any      `json:"session"`
		RedirectURI   string   `json:"redirect_uri"`
		ResponseTypes []string `json:"response_types"`
		State         string   `json:"state"`
		ResponseMode  string   `json:"response_mode"`
	}{Session: sess}
	if err := json.Unmarshal(b, &pr); err != nil {
		return nil, f.fail(ctx, "decode pushed request", err)
	}
	client, err := f.GetClient(ctx, pr.ClientID)
	if err != nil {
		return nil, err
	}
	redirect, err := url.Parse(pr.RedirectURI)
	if err != nil {
		return nil, f.fail(ctx, "decode pushed redirect_uri", err)
	}
	form := pr.Form
	if form == nil {
		form = url.Values{}
	}
	ar := fosite.NewAuthorizeRequest()
	ar.ID, ar.RequestedAt, ar.Client, ar.Form, ar.Session = pr.ID, pr.RequestedAt, client, form, sess
	ar.RequestedScope, ar.RequestedAudience = pr.RequestedScopes, pr.RequestedAudience
	ar.RedirectURI, ar.ResponseTypes, ar.State = redirect, pr.ResponseTypes, pr.State
	ar.ResponseMode = fosite.ResponseModeType(pr.ResponseMode)
	return ar, nil
}

// DeletePARSession implements fosite.PARStorage: the request was claimed
// by GetPARSession, so this only removes the row.
func (f *fositeStore) DeletePARSession(ctx context.Context, requestURI string) error {
	return f.fail(ctx, "delete pushed request", f.s.DeleteToken(ctx, kindPAR, secret.HashToken(requestURI)))
}

package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/ory/fosite"

	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// GrantTypePersonal is the grant type recorded for personal tokens.
const GrantTypePersonal = "personal_token"

// IssuePersonalToken issues an opaque access token for a user, like DRF's
// drf_create_token (`sesame tokens issue`). It goes through the same
// strategy and storage code as the token endpoint: the token is an opaque
// HMAC token with its own grant, introspectable and revocable like any
// other. Every scope must be allowed for the client.
func (h *Handler) IssuePersonalToken(ctx context.Context, userID, clientID string, scopes []string, ttl time.Duration) (string, time.Time, error) {
	if ttl <= 0 {
		return "", time.Time{}, fmt.Errorf("oauth: issue personal token: ttl must be positive, got %s", ttl)
	}
	ctx, st := withState(ctx)
	now := h.now().UTC()
	req, err := h.personalRequest(ctx, userID, clientID, scopes, now, now.Add(ttl).Round(time.Second))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("oauth: issue personal token: %w", err)
	}
	exp := req.Session.GetExpiresAt(fosite.AccessToken)
	token, sig, err := h.strategy.hmac.GenerateAccessToken(ctx, req)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("oauth: issue personal token: %w", err)
	}
	if err := h.adapter.CreateAccessTokenSession(ctx, sig, req); err != nil {
		if serr := st.storeFailure(); serr != nil {
			err = serr
		}
		return "", time.Time{}, fmt.Errorf("oauth: issue personal token: %w", err)
	}
	return token, exp, nil
}

// personalRequest builds the request of a personal token (issued, or an
// imported DRF key): the user must exist and be enabled, every scope be
// allowed for the client; it has its own grant (a random request id).
func (h *Handler) personalRequest(ctx context.Context, userID, clientID string, scopes []string, requestedAt, exp time.Time) (*fosite.Request, error) {
	u, err := h.store.GetUser(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("user %q: %w", userID, err)
	}
	if u.Disabled {
		return nil, fmt.Errorf("user %q is disabled", userID)
	}
	c, err := h.store.GetClient(ctx, clientID)
	if err != nil {
		return nil, fmt.Errorf("client %q: %w", clientID, err)
	}
	client := newClient(c, h.logger)
	for _, s := range scopes {
		if !fosite.ExactScopeStrategy(client.GetScopes(), s) {
			return nil, fmt.Errorf("scope %q is not allowed for client %q", s, clientID)
		}
	}
	id, err := secret.RandomToken(18)
	if err != nil {
		return nil, err
	}
	sess := newSession(u.ID, u.Username, clientID)
	sess.SetExpiresAt(fosite.AccessToken, exp)
	sess.AccessTokenFormat = FormatOpaque
	if err := h.grantGroups(ctx, sess, scopes); err != nil {
		return nil, err
	}
	req := &fosite.Request{
		ID: id, RequestedAt: requestedAt, Client: client,
		RequestedScope: scopes, GrantedScope: scopes,
		Form:    url.Values{"grant_type": {GrantTypePersonal}},
		Session: sess,
	}
	for _, a := range client.defaultAudience() {
		req.GrantAudience(a)
	}
	return req, nil
}

// ErrUnknownToken is returned by RevokeToken for a value that is not a
// token of this server.
var ErrUnknownToken = fmt.Errorf("oauth: unknown token: %w", storage.ErrNotFound)

// RevokeToken revokes the grant of any access or refresh token value (all
// its tokens, JWT jtis denylisted), for `sesame tokens revoke TOKEN`.
// Revoking an already revoked token succeeds; an unknown one returns
// ErrUnknownToken.
func (h *Handler) RevokeToken(ctx context.Context, token string) error {
	ctx, st := withState(ctx)
	lookups := []func() (fosite.Requester, error){
		func() (fosite.Requester, error) {
			return h.adapter.GetRefreshTokenSession(ctx, h.strategy.RefreshTokenSignature(ctx, token), nil)
		},
		func() (fosite.Requester, error) {
			return h.adapter.GetAccessTokenSession(ctx, h.strategy.AccessTokenSignature(ctx, token), nil)
		},
	}
	for _, lookup := range lookups {
		ar, err := lookup()
		if serr := st.storeFailure(); serr != nil {
			return fmt.Errorf("oauth: revoke token: %w", serr)
		}
		if ar == nil || (err != nil && !errors.Is(err, fosite.ErrInactiveToken)) {
			continue
		}
		st.revokeReason = "revoked"
		if err := h.adapter.RevokeRefreshToken(ctx, ar.GetID()); err != nil {
			return fmt.Errorf("oauth: revoke token: %w", err)
		}
		if err := h.adapter.RevokeAccessToken(ctx, ar.GetID()); err != nil {
			return fmt.Errorf("oauth: revoke token: %w", err)
		}
		return nil
	}
	return ErrUnknownToken
}

// RevokeGrants revokes every unrevoked grant matching f (say, all grants of
// a user or of a client, for `sesame tokens revoke --user/--client` and the
// admin API): the grants are marked revoked, their token rows deactivated
// and the jti of their unexpired JWT access tokens denylisted, exactly as a
// revocation through the endpoint. It returns how many grants it revoked.
func (h *Handler) RevokeGrants(ctx context.Context, f storage.GrantFilter, reason string) (int, error) {
	if f.Subject == "" && f.ClientID == "" {
		return 0, errors.New("oauth: revoke grants: a subject or a client id is required")
	}
	if reason == "" {
		reason = "revoked"
	}
	ctx, st := withState(ctx)
	st.revokeReason = reason
	ids, err := h.store.RevokeGrants(ctx, f, reason, h.now())
	if err != nil {
		return 0, fmt.Errorf("oauth: revoke grants: %w", err)
	}
	for _, id := range ids {
		if err := h.adapter.RevokeAccessToken(ctx, id); err != nil {
			return 0, fmt.Errorf("oauth: revoke grants: %w", err)
		}
		if err := h.adapter.RevokeRefreshToken(ctx, id); err != nil {
			return 0, fmt.Errorf("oauth: revoke grants: %w", err)
		}
	}
	return len(ids), nil
}

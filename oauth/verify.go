package oauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ory/fosite"
)

// ErrInactiveToken is returned by VerifyAccessToken for a value that is not
// an active access token of this server: unknown, expired, revoked,
// forged, or another kind of token (a refresh token, an ID token).
var ErrInactiveToken = errors.New("oauth: access token is not active")

// AccessToken is what an active access token says, in plain types.
type AccessToken struct {
	ClientID string
	// Subject is the user id, or the client id for a client's own token
	// (client_credentials).
	Subject string
	Scopes  []string
	// DPoPJKT is the thumbprint of the key the token is bound to (RFC 9449
	// cnf.jkt), "" for a bearer token.
	DPoPJKT string
	// Username is the user's name ("" for a client's own token).
	Username string
	// Audience is the token's aud.
	Audience []string
	// ExpiresAt is when the token stops being active.
	ExpiresAt time.Time
	// AMR and ACR say how the user signed in (nil, "" when unknown).
	AMR []string
	ACR string
	// Act is the actor of a delegated token (RFC 8693 §4.1), nil if none.
	Act *Actor
}

// HasScope reports whether the token was granted scope s.
func (t AccessToken) HasScope(s string) bool {
	return slices.Contains(t.Scopes, s)
}

// VerifyAccessToken is the one check of an access token presented to this
// server (userinfo, the admin API): opaque and JWT alike, with revocation
// seen (a revoked grant or a denylisted jti is inactive). The fosite
// request state it needs lives here, so a caller cannot forget it and turn
// a database outage into "invalid token": a store failure is returned as
// an error that is not ErrInactiveToken (the caller answers 503).
func (h *Handler) VerifyAccessToken(ctx context.Context, token string) (AccessToken, error) {
	ctx, st := withState(ctx)
	use, ar, err := h.provider.IntrospectToken(ctx, token, fosite.AccessToken, newSession("", "", ""))
	if serr := st.storeFailure(); serr != nil {
		return AccessToken{}, fmt.Errorf("oauth: verify access token: %w", serr)
	}
	// IntrospectToken falls back to other token kinds: only an access
	// token counts.
	if err != nil || use != fosite.AccessToken || ar == nil {
		return AccessToken{}, ErrInactiveToken
	}
	t := AccessToken{ClientID: ar.GetClient().GetID(), Scopes: append([]string(nil), ar.GetGrantedScopes()...),
		Audience: append([]string(nil), ar.GetGrantedAudience()...)}
	if s := ar.GetSession(); s != nil {
		t.Subject = s.GetSubject()
		t.Username = s.GetUsername()
		t.ExpiresAt = s.GetExpiresAt(fosite.AccessToken)
	}
	if s, ok := ar.GetSession().(*Session); ok {
		t.DPoPJKT = s.DPoPJKT
		t.AMR, t.ACR = s.Authentication()
		t.Act = s.Act.clone()
	}
	return t, nil
}

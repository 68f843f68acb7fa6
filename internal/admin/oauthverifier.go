package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/sesameauth/sesame/oauth"
)

// OAuthVerifier checks access tokens through the server's one access-token
// check (oauth.Handler.VerifyAccessToken): opaque and JWT access tokens
// alike, with revocation seen.
type OAuthVerifier struct{ OAuth *oauth.Handler }

var _ TokenVerifier = OAuthVerifier{}

// VerifyAccessToken implements TokenVerifier.
func (v OAuthVerifier) VerifyAccessToken(ctx context.Context, token string) (Principal, error) {
	at, err := v.OAuth.VerifyAccessToken(ctx, token)
	if errors.Is(err, oauth.ErrInactiveToken) {
		return Principal{}, ErrInvalidToken
	}
	if err != nil {
		return Principal{}, fmt.Errorf("admin: %w", err)
	}
	if at.DPoPJKT != "" {
		// The admin API takes bearer tokens only; a DPoP-bound token
		// presented as one is refused (RFC 9449 §7.1), or a stolen bound
		// token would work here without its key.
		return Principal{}, ErrInvalidToken
	}
	return Principal{ClientID: at.ClientID, Subject: at.Subject, Scopes: at.Scopes}, nil
}

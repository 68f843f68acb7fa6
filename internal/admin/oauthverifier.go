package admin

import (
	"context"
	"fmt"

	"github.com/ory/fosite"

	"github.com/sesameauth/sesame/oauth"
)

// OAuthVerifier checks access tokens with the server's own introspection
// (fosite's IntrospectToken over oauth's storage): opaque and JWT access
// tokens alike, with revocation seen (a revoked grant or a denylisted jti
// is inactive).
type OAuthVerifier struct{ OAuth *oauth.Handler }

var _ TokenVerifier = OAuthVerifier{}

// VerifyAccessToken implements TokenVerifier.
func (v OAuthVerifier) VerifyAccessToken(ctx context.Context, token string) (Principal, error) {
	ctx = oauth.WithRequestState(ctx)
	use, ar, err := v.OAuth.Provider().IntrospectToken(ctx, token, fosite.AccessToken, v.OAuth.NewSession("", "", ""))
	if serr := oauth.StoreFailure(ctx); serr != nil {
		return Principal{}, fmt.Errorf("admin: verify access token: %w", serr)
	}
	// IntrospectToken falls back to other token kinds: a refresh token
	// must not open the API.
	if err != nil || use != fosite.AccessToken || ar == nil {
		return Principal{}, ErrInvalidToken
	}
	p := Principal{ClientID: ar.GetClient().GetID(), Scopes: ar.GetGrantedScopes()}
	if s := ar.GetSession(); s != nil {
		p.Subject = s.GetSubject()
	}
	return p, nil
}

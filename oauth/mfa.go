package oauth

import (
	"context"
	"errors"
	"fmt"

	"github.com/sesameauth/sesame/internal/app"
)

// Claims of the sign-in behind a token (SPEC part two): amr (RFC 8176) and
// acr, in ID tokens (the OIDC session's own fields), JWT access tokens
// (Extra, so they survive the JWT round trip) and introspection.
const (
	claimAMR = "amr"
	claimACR = "acr"
)

// SetAuthentication records how the user signed in. The ID token's claims
// are set by the caller (oidc) on IDTokenClaims; this puts the same values
// into the access token's claims.
func (s *Session) SetAuthentication(amr []string, acr string) {
	if s.Extra == nil {
		s.Extra = map[string]any{}
	}
	s.Extra[claimAMR] = append([]string(nil), amr...)
	s.Extra[claimACR] = acr
}

// Authentication returns the amr and acr recorded by SetAuthentication
// (nil and "" when none). A session decoded from JSON or rebuilt from a
// JWT holds []any.
func (s *Session) Authentication() ([]string, string) {
	acr, _ := s.Extra[claimACR].(string)
	switch v := s.Extra[claimAMR].(type) {
	case []string:
		return v, acr
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if str, ok := x.(string); ok {
				out = append(out, str)
			}
		}
		return out, acr
	}
	return nil, acr
}

// refuseSecondFactorUsers keeps the password grant from bypassing a
// second factor: it cannot ask for one, so a user who has one — or any
// user when SESAME_MFA=required or the client requires two factors — must
// sign in through the authorization endpoint instead.
func (f *fositeStore) refuseSecondFactorUsers(ctx context.Context, userID string) (bool, error) {
	if f.cfg.MFARequired {
		return true, nil
	}
	if id := callerOf(ctx).client(); id != "" {
		if c, err := f.s.GetClient(ctx, id); err == nil && c.RequireMFA {
			return true, nil
		}
	}
	fs, err := f.s.ListFactors(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("list factors: %w", err)
	}
	for _, x := range fs {
		if x.Confirmed {
			return true, nil
		}
	}
	return false, nil
}

// errSecondFactorRequired is Authenticate's refusal of such a user;
// correctError answers it invalid_grant with a hint that says why.
var errSecondFactorRequired = errors.New("oauth: this sign-in needs a second factor, which the password grant cannot ask for")

// passwordGrantAuthentication is the amr/acr of a password-grant token.
func passwordGrantAuthentication(s *Session) {
	s.SetAuthentication([]string{app.AMRPassword}, app.ACRPassword)
}

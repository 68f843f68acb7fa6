package oauth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"

	"github.com/sesameauth/sesame/internal/secret"
)

// Prefixes of opaque tokens, so that secret scanners and people can tell
// what a leaked value is (the HMAC part is unchanged).
const (
	prefixAccessToken   = "sesame_at_"
	prefixRefreshToken  = "sesame_rt_"
	prefixAuthorizeCode = "sesame_ac_"
)

// hmacStrategy is fosite's HMAC strategy with Sesame's prefixes (fosite's
// prefixed strategy hard-codes "ory_").
type hmacStrategy struct {
	*oauth2.HMACSHAStrategyUnPrefixed
}

func withPrefix(prefix, token string, sig string, err error) (string, string, error) {
	if err != nil {
		return "", "", err
	}
	return prefix + token, sig, nil
}

func (h *hmacStrategy) GenerateAccessToken(ctx context.Context, r fosite.Requester) (string, string, error) {
	t, s, err := h.HMACSHAStrategyUnPrefixed.GenerateAccessToken(ctx, r)
	return withPrefix(prefixAccessToken, t, s, err)
}

func (h *hmacStrategy) ValidateAccessToken(ctx context.Context, r fosite.Requester, token string) error {
	return h.HMACSHAStrategyUnPrefixed.ValidateAccessToken(ctx, r, strings.TrimPrefix(token, prefixAccessToken))
}

func (h *hmacStrategy) GenerateRefreshToken(ctx context.Context, r fosite.Requester) (string, string, error) {
	t, s, err := h.HMACSHAStrategyUnPrefixed.GenerateRefreshToken(ctx, r)
	return withPrefix(prefixRefreshToken, t, s, err)
}

func (h *hmacStrategy) ValidateRefreshToken(ctx context.Context, r fosite.Requester, token string) error {
	return h.HMACSHAStrategyUnPrefixed.ValidateRefreshToken(ctx, r, strings.TrimPrefix(token, prefixRefreshToken))
}

func (h *hmacStrategy) GenerateAuthorizeCode(ctx context.Context, r fosite.Requester) (string, string, error) {
	t, s, err := h.HMACSHAStrategyUnPrefixed.GenerateAuthorizeCode(ctx, r)
	return withPrefix(prefixAuthorizeCode, t, s, err)
}

func (h *hmacStrategy) ValidateAuthorizeCode(ctx context.Context, r fosite.Requester, token string) error {
	return h.HMACSHAStrategyUnPrefixed.ValidateAuthorizeCode(ctx, r, strings.TrimPrefix(token, prefixAuthorizeCode))
}

// tokenStrategy is the oauth2.CoreStrategy fosite uses. Access tokens are
// RFC 9068 JWTs or opaque HMAC tokens, chosen per request from the client
// (storage.Client.AccessTokenFormat, else Config.AccessTokenFormat);
// refresh tokens and codes are always opaque. Calls without a requester
// (the *Signature methods) work for both formats: the storage key is the
// last dot-separated segment, the JWS signature or the HMAC.
type tokenStrategy struct {
	hmac          *hmacStrategy
	jwt           *oauth2.DefaultJWTStrategy
	defaultFormat string
}

var _ oauth2.CoreStrategy = (*tokenStrategy)(nil)

func (s *tokenStrategy) formatFor(c fosite.Client) string {
	if cl, ok := c.(*Client); ok {
		switch cl.c.AccessTokenFormat {
		case FormatJWT, FormatOpaque:
			return cl.c.AccessTokenFormat
		}
	}
	return s.defaultFormat
}

// AccessTokenSignature is the storage key of an access token, used for
// lookups (introspection, revocation). JWT access tokens have no row (they
// are verified, store_jwt.go), so the "signature" of a JWT is the whole
// token: GetAccessTokenSession needs it to verify the JWS and read its
// grant. Opaque tokens are looked up by their HMAC.
func (s *tokenStrategy) AccessTokenSignature(_ context.Context, token string) string {
	if isJWT(token) {
		return token
	}
	if IsDRFKey(token) {
		return drfSigPrefix + token // the store looks up its keyed hashes (drf.go)
	}
	return lastSegment(token)
}

// isJWT reports whether token has the shape of a compact JWS.
func isJWT(token string) bool { return strings.Count(token, ".") == 2 }

// GenerateAccessToken issues the access token of r in the client's format.
// It also grants the default audience when none was granted (SPEC: aud is
// never empty) and records the jti in the session for revocation.
func (s *tokenStrategy) GenerateAccessToken(ctx context.Context, r fosite.Requester) (string, string, error) {
	if len(r.GetGrantedAudience()) == 0 {
		if cl, ok := r.GetClient().(*Client); ok {
			for _, a := range cl.defaultAudience() {
				r.GrantAudience(a)
			}
		}
	}
	format := s.formatFor(r.GetClient())
	sess, ok := r.GetSession().(*Session)
	if !ok {
		return "", "", fmt.Errorf("oauth: session is %T, want *oauth.Session", r.GetSession())
	}
	sess.AccessTokenFormat = format
	sess.AccessTokenJTI = ""
	var (
		token, sig string
		err        error
	)
	if format == FormatJWT {
		if sess.AccessTokenJTI, err = secret.RandomToken(18); err != nil {
			return "", "", err
		}
		sess.grantID = r.GetID()
		token, sig, err = s.jwt.GenerateAccessToken(ctx, forAccessToken(r))
		sess.grantID = ""
	} else {
		token, sig, err = s.hmac.GenerateAccessToken(ctx, r)
	}
	if err != nil {
		return "", "", err
	}
	st := stateOf(ctx)
	st.mu.Lock()
	st.accessToken = token
	st.mu.Unlock()
	return token, sig, nil
}

// ValidateAccessToken checks the token itself (JWS signature and exp, or
// HMAC and stored expiry); the caller found its record by signature.
func (s *tokenStrategy) ValidateAccessToken(ctx context.Context, r fosite.Requester, token string) error {
	if isJWT(token) {
		if sess, ok := r.GetSession().(*Session); ok && sess.verifiedJWT != "" && sess.verifiedJWT == token {
			return nil // verified (signature, exp) by GetAccessTokenSession
		}
		return s.jwt.ValidateAccessToken(ctx, r, token)
	}
	if IsDRFKey(token) {
		return validateDRFKey(r, time.Now())
	}
	if !strings.HasPrefix(token, prefixAccessToken) {
		return errors.New("oauth: not an access token")
	}
	return s.hmac.ValidateAccessToken(ctx, r, token)
}

func (s *tokenStrategy) RefreshTokenSignature(ctx context.Context, token string) string {
	return s.hmac.RefreshTokenSignature(ctx, token)
}

func (s *tokenStrategy) GenerateRefreshToken(ctx context.Context, r fosite.Requester) (string, string, error) {
	token, sig, err := s.hmac.GenerateRefreshToken(ctx, r)
	if err != nil {
		return "", "", err
	}
	st := stateOf(ctx)
	st.mu.Lock()
	st.refreshToken = token
	st.mu.Unlock()
	return token, sig, nil
}

func (s *tokenStrategy) ValidateRefreshToken(ctx context.Context, r fosite.Requester, token string) error {
	if !strings.HasPrefix(token, prefixRefreshToken) {
		return errors.New("oauth: not a refresh token")
	}
	return s.hmac.ValidateRefreshToken(ctx, r, token)
}

func (s *tokenStrategy) AuthorizeCodeSignature(ctx context.Context, token string) string {
	return s.hmac.AuthorizeCodeSignature(ctx, token)
}

func (s *tokenStrategy) GenerateAuthorizeCode(ctx context.Context, r fosite.Requester) (string, string, error) {
	return s.hmac.GenerateAuthorizeCode(ctx, r)
}

func (s *tokenStrategy) ValidateAuthorizeCode(ctx context.Context, r fosite.Requester, token string) error {
	if !strings.HasPrefix(token, prefixAuthorizeCode) {
		return errors.New("oauth: not an authorization code")
	}
	return s.hmac.ValidateAuthorizeCode(ctx, r, token)
}

// secretHasher is fosite's Hasher for client secrets: a keyed HMAC
// compared in constant time (internal/secret), instead of bcrypt.
type secretHasher struct{ ring *secret.Keyring }

var _ fosite.Hasher = secretHasher{}

var errSecretMismatch = errors.New("oauth: client secret mismatch")

func (h secretHasher) Compare(_ context.Context, hash, data []byte) error {
	if h.ring.VerifyClientSecret(string(data), string(hash)) {
		return nil
	}
	return errSecretMismatch
}

func (h secretHasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	return []byte(h.ring.HashClientSecret(string(data))), nil
}

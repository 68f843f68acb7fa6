package oauth

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/hmac"
	"github.com/ory/fosite/token/jwt"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/dpop"
	"github.com/sesameauth/sesame/internal/keys"
	"github.com/sesameauth/sesame/internal/secret"
)

// Endpoint paths, relative to the issuer.
const (
	PathToken      = "/oauth2/token"
	PathIntrospect = "/oauth2/introspect"
	PathRevoke     = "/oauth2/revoke"
)

// ScopeIntrospect lets a client introspect tokens issued to other clients
// (the resource-server role, SPEC "Introspection policy").
const ScopeIntrospect = "sesame:introspect"

// Handler is the OAuth 2.0 core: fosite composed with Sesame's storage,
// token strategy and signers, and the token, introspection, revocation,
// device authorization and PAR endpoints (their metadata: Metadata; the
// documents and the JWKS are oidc's).
type Handler struct {
	cfg      Config
	store    Store
	keys     *keys.Manager
	ring     *secret.Keyring
	logger   *slog.Logger
	now      func() time.Time
	fcfg     *fosite.Config
	provider *fosite.Fosite
	adapter  *fositeStore
	strategy *tokenStrategy
	dpop     *dpop.Verifier
	idAlgs   []string // algorithms with an active key
	// idTokens signs ID tokens for grants of our own (device.go).
	idTokens *openid.DefaultStrategy
}

// New composes fosite and the endpoints. It fails when a dependency is
// missing or a configured signing algorithm has no active key.
func New(d Deps) (*Handler, error) {
	if err := d.validate(); err != nil {
		return nil, err
	}
	h := &Handler{cfg: d.Config, store: d.Store, keys: d.Keys, ring: d.Ring, logger: d.Logger, now: d.Now, dpop: d.DPoP}
	ctx := context.Background()
	for _, alg := range keys.Supported() {
		if _, err := d.Keys.Active(ctx, alg); err == nil {
			h.idAlgs = append(h.idAlgs, alg)
		}
	}
	for name, alg := range map[string]string{"IDTokenSigningAlg": h.cfg.IDTokenSigningAlg, "AccessTokenSigningAlg": h.cfg.AccessTokenSigningAlg} {
		if _, err := d.Keys.Active(ctx, alg); err != nil {
			return nil, fmt.Errorf("oauth: Config.%s %s: no active signing key: %w", name, alg, err)
		}
	}

	h.fcfg = &fosite.Config{
		AccessTokenLifespan:   h.cfg.AccessTokenLifetime,
		RefreshTokenLifespan:  h.cfg.RefreshTokenLifetime,
		IDTokenLifespan:       h.cfg.IDTokenLifetime,
		AuthorizeCodeLifespan: h.cfg.AuthCodeLifetime,
		IDTokenIssuer:         h.cfg.Issuer,
		AccessTokenIssuer:     h.cfg.Issuer,
		TokenURL:              h.cfg.Issuer + PathToken,
		// RFC 9700 §2.1.1: PKCE for public clients, S256 only.
		EnforcePKCEForPublicClients:    true,
		EnablePKCEPlainChallengeMethod: false,
		ScopeStrategy:                  fosite.ExactScopeStrategy,
		// Audiences are opaque identifiers, compared exactly.
		AudienceMatchingStrategy: fosite.ExactAudienceMatchingStrategy,
		RedirectSecureChecker:    isRedirectURISecure,
		// SPEC: a refresh token needs the offline_access scope.
		RefreshTokenScopes:         []string{"offline_access"},
		JWTScopeClaimKey:           jwt.JWTScopeFieldString,
		SendDebugMessagesToClients: false,
		GlobalSecret:               d.Ring.Derive(secret.PurposeTokenHMAC),
		RotatedGlobalSecrets:       d.Ring.DeriveOld(secret.PurposeTokenHMAC),
		ClientSecretsHasher:        secretHasher{ring: d.Ring},
		// Keep redirect_uri of the authorize request so the token
		// request must repeat it (RFC 6749 §4.1.3).
		SanitationWhiteList: []string{"redirect_uri"},
		// RFC 6749 §4.1.1 / OIDC Core: state and nonce of any length
		// (issue 13 item 13); PKCE, enforced for every client, protects
		// the flow. An absent state: authorizeProvider.
		MinParameterEntropy: 1,
		// RFC 9126 (par.go): requiring PAR is decided by oidc, which
		// knows a resumed request from a new one.
		PushedAuthorizeRequestURIPrefix: PARRequestURIPrefix,
		PushedAuthorizeContextLifespan:  parLifetime,
		// response_mode=form_post without fosite's inline script
		// (formpost.go).
		FormPostHTMLTemplate: formPostFallback,
	}

	if d.Passwords == nil {
		d.Passwords = app.NewPasswords(d.Store, d.Throttle, d.PasswordParams, d.Logger).
			WithRequireVerifiedEmail(d.Config.RequireVerifiedEmail)
	}
	h.adapter = &fositeStore{
		s: d.Store, ring: d.Ring, cfg: &h.cfg, passwords: d.Passwords,
		logger: d.Logger, now: d.Now,
		newSession: func() *Session { return newSession("", "", "") },
		gate:       newGate(d.Throttle, d.Store, d.Logger, d.Now),
	}
	h.fcfg.ClientAuthenticationStrategy = h.authenticateClient
	hmacS := &hmacStrategy{HMACSHAStrategyUnPrefixed: oauth2.NewHMACSHAStrategyUnPrefixed(&hmac.HMACStrategy{Config: h.fcfg}, h.fcfg)}
	atSigner := &jwtSigner{keys: d.Keys, alg: func(context.Context, jwt.Mapper) string { return h.cfg.AccessTokenSigningAlg }}
	h.adapter.atVerifier = &jwtSigner{keys: d.Keys, alg: atSigner.alg, verified: newVerifiedCache(verifiedCacheMax, d.Now)}
	h.adapter.clients = newClientCache(h.cfg.ClientCacheTTL, d.Now)
	h.adapter.batch = newTokenBatcher(d.Store, tokenBatchMax, tokenBatchDeadline)
	h.adapter.revs = newRevCache(h.cfg.RevocationCacheTTL, d.Now, d.Store.RevocationEpoch)
	idSigner := &jwtSigner{keys: d.Keys, alg: h.idTokenAlg}
	h.strategy = &tokenStrategy{
		hmac:          hmacS,
		jwt:           &oauth2.DefaultJWTStrategy{Signer: atSigner, HMACSHAStrategy: hmacS, Config: h.fcfg},
		defaultFormat: h.cfg.AccessTokenFormat,
	}
	h.idTokens = &openid.DefaultStrategy{Signer: idSigner, Config: h.fcfg}
	strategy := &compose.CommonStrategy{
		CoreStrategy:               h.strategy,
		OpenIDConnectTokenStrategy: h.idTokens,
		Signer:                     idSigner,
	}
	// Order matters (FOSITE.md §2.1): PKCE and OIDC read the code the
	// authorize-code handler produced.
	provider := compose.Compose(h.fcfg, h.adapter, strategy,
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OAuth2PKCEFactory,
		compose.OAuth2RefreshTokenGrantFactory,
		compose.OAuth2ClientCredentialsGrantFactory,
		//lint:ignore SA1019 the password grant is offered on purpose, marked legacy (RFC 9700 §2.4) in the README
		compose.OAuth2ResourceOwnerPasswordCredentialsFactory,
		compose.OpenIDConnectExplicitFactory,
		compose.OpenIDConnectRefreshFactory,
		compose.OAuth2TokenIntrospectionFactory,
		compose.OAuth2TokenRevocationFactory,
		// RFC 9126 (par.go).
		compose.PushedAuthorizeHandlerFactory,
	)
	f, ok := provider.(*fosite.Fosite)
	if !ok {
		return nil, fmt.Errorf("oauth: compose returned %T", provider)
	}
	h.provider = f
	// Client assertions may name the issuer as audience (conformance.go).
	f.Config = issuerAudience{Config: h.fcfg, urls: []string{h.fcfg.TokenURL, h.cfg.Issuer}}
	// unauthorized_client before any scope check (conformance.go).
	h.fcfg.TokenEndpointHandlers = append(fosite.TokenEndpointHandlers{grantTypeCheck{}}, h.fcfg.TokenEndpointHandlers...)
	// RFC 8628: our own grant handler beside fosite's (device.go).
	h.fcfg.TokenEndpointHandlers = append(h.fcfg.TokenEndpointHandlers, deviceGrantHandler{h: h})
	// RFC 8693: token exchange, likewise (exchange.go).
	h.fcfg.TokenEndpointHandlers = append(h.fcfg.TokenEndpointHandlers, exchangeGrantHandler{h: h})
	return h, nil
}

// Mount registers the endpoints on r. Metadata advertises them as
// Config.Issuer + path, so r must be rooted at the issuer's path (the
// engine itself for an issuer without a path).
func (h *Handler) Mount(r gin.IRouter) {
	r.POST(PathToken, basicChallenge, h.token)
	r.POST(PathIntrospect, basicChallenge, h.introspect)
	r.POST(PathRevoke, basicChallenge, h.revoke)
	r.POST(PathDeviceAuthorization, basicChallenge, h.deviceAuthorization)
	r.POST(PathPAR, basicChallenge, h.par)
}

// isRedirectURISecure is strict (https, or http on a loopback host, RFC 8252
// §7.3) but also accepts private-use URI schemes of native apps (RFC 8252
// §7.1: reverse domain names such as com.example.app:/cb).
func isRedirectURISecure(ctx context.Context, u *url.URL) bool {
	switch u.Scheme {
	case "https":
		return true
	case "http":
		return fosite.IsLocalhost(u)
	}
	return strings.Contains(u.Scheme, ".")
}

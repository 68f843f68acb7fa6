package rs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// DefaultAlgorithms are the signature algorithms a Verifier accepts unless
// told otherwise: every asymmetric algorithm Sesame can sign with.
var DefaultAlgorithms = []string{"RS256", "PS256", "ES256", "EdDSA"}

// asymmetric lists the algorithms a Verifier may be configured with. HMAC
// (HS*) is absent on purpose: verifying an HS256 token with a key from a
// public JWKS is the classic algorithm-confusion attack (RFC 8725 §2.1), and
// "none" is never acceptable.
var asymmetric = []string{
	"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512", "EdDSA",
}

// Defaults for Config and IntrospectionConfig.
const (
	DefaultLeeway                 = 30 * time.Second
	DefaultJWKSRefreshMinInterval = 10 * time.Second
	DefaultJWKSTTL                = 15 * time.Minute
	defaultHTTPTimeout            = 10 * time.Second
)

// Config configures a Verifier.
type Config struct {
	// Issuer is the authorization server's issuer URL, exactly as it
	// appears in the tokens' iss. Required.
	Issuer string
	// Audience is this resource server's identifier; it must be one of the
	// token's aud values. Required.
	Audience string
	// Leeway tolerates clock skew on exp, nbf and iat. Zero means
	// DefaultLeeway (30 s); a negative value means no leeway.
	Leeway time.Duration
	// Algorithms lists the accepted JWS algorithms. Default
	// DefaultAlgorithms. HMAC algorithms and "none" are rejected.
	Algorithms []string
	// HTTPClient fetches metadata and keys. Default: a client with a 10 s
	// timeout.
	HTTPClient *http.Client
	// JWKSURL skips discovery when set.
	JWKSURL string
	// JWKSRefreshMinInterval is the least time between two JWKS fetches,
	// however many tokens with unknown kids arrive. Default 10 s.
	JWKSRefreshMinInterval time.Duration
	// JWKSTTL is how long a fetched key set is trusted before it is
	// fetched again. Default 15 min.
	JWKSTTL time.Duration
	// Logger receives issuer-side failures (never tokens). Default
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock; tests inject one. Default time.Now.
	Now func() time.Time
}

// Verifier checks RFC 9068 JWT access tokens locally against the issuer's
// published keys. It is safe for concurrent use.
type Verifier struct {
	issuer   string
	audience string
	leeway   time.Duration
	algs     []jose.SignatureAlgorithm
	keys     *keyCache
	now      func() time.Time
}

// NewVerifier validates cfg, discovers the issuer's jwks_uri (unless
// cfg.JWKSURL is set) and fetches the keys once, so a misconfiguration fails
// at start-up rather than on the first request.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("rs: Config.Issuer is required")
	}
	if cfg.Audience == "" {
		return nil, errors.New("rs: Config.Audience is required")
	}
	algNames := cfg.Algorithms
	if len(algNames) == 0 {
		algNames = DefaultAlgorithms
	}
	algs := make([]jose.SignatureAlgorithm, 0, len(algNames))
	for _, a := range algNames {
		if !slices.Contains(asymmetric, a) {
			return nil, fmt.Errorf("rs: algorithm %q is not allowed (asymmetric algorithms only)", a)
		}
		algs = append(algs, jose.SignatureAlgorithm(a))
	}
	leeway := cfg.Leeway
	switch {
	case leeway == 0:
		leeway = DefaultLeeway
	case leeway < 0:
		leeway = 0
	}
	client := httpClient(cfg.HTTPClient)
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	minInterval := cfg.JWKSRefreshMinInterval
	if minInterval <= 0 {
		minInterval = DefaultJWKSRefreshMinInterval
	}
	ttl := cfg.JWKSTTL
	if ttl <= 0 {
		ttl = DefaultJWKSTTL
	}

	jwksURL := cfg.JWKSURL
	if jwksURL == "" {
		md, err := discover(ctx, client, cfg.Issuer)
		if err != nil {
			return nil, err
		}
		if md.JWKSURI == "" {
			return nil, fmt.Errorf("rs: issuer %s publishes no jwks_uri", cfg.Issuer)
		}
		jwksURL = md.JWKSURI
	}
	keys := newKeyCache(jwksURL, client, ttl, minInterval, now, log)
	if err := keys.refresh(ctx); err != nil {
		return nil, fmt.Errorf("rs: initial JWKS fetch: %w", err)
	}
	return &Verifier{
		issuer:   cfg.Issuer,
		audience: cfg.Audience,
		leeway:   leeway,
		algs:     algs,
		keys:     keys,
		now:      now,
	}, nil
}

func httpClient(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return &http.Client{Timeout: defaultHTTPTimeout}
}

// Authenticate implements Authenticator: it verifies token locally.
func (v *Verifier) Authenticate(ctx context.Context, token string) (*Principal, error) {
	tok, err := jwt.ParseSigned(token, v.algs)
	if err != nil {
		// Also where "alg": "none" and HS256 end: they are not in v.algs.
		return nil, invalid("the token is not a JWT signed with an accepted algorithm", err)
	}
	if len(tok.Headers) != 1 {
		return nil, invalid("the token must have exactly one signature", nil)
	}
	h := tok.Headers[0]
	// RFC 9068 §4: reject anything not typed as an access token, so an ID
	// token (or any other JWT from the same issuer) cannot be replayed here.
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	if !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return nil, invalid("the token's typ header is not at+jwt", nil)
	}
	keys, err := v.keys.candidates(ctx, h.KeyID, h.Algorithm)
	if err != nil {
		return nil, err
	}
	var (
		std    jwt.Claims
		claims map[string]any
		verr   error
	)
	for _, k := range keys {
		std, claims = jwt.Claims{}, nil
		if verr = tok.Claims(k.Key, &std, &claims); verr == nil {
			break
		}
	}
	if verr != nil {
		return nil, invalid("the token's signature is invalid", verr)
	}
	// RFC 9068 §2.2: exp and sub are required.
	if std.Expiry == nil {
		return nil, invalid("the token has no exp claim", nil)
	}
	if std.Subject == "" {
		return nil, invalid("the token has no sub claim", nil)
	}
	// RFC 9068 §4: iss must match exactly and aud must contain us.
	err = std.ValidateWithLeeway(jwt.Expected{
		Issuer:      v.issuer,
		AnyAudience: jwt.Audience{v.audience},
		Time:        v.now(),
	}, v.leeway)
	if err != nil {
		return nil, invalid(claimsDescription(err), err)
	}
	p := &Principal{
		Subject:  std.Subject,
		ClientID: claimString(claims, "client_id"),
		Username: usernameFrom(claims),
		Scopes:   jwtScopes(claims),
		Audience: []string(std.Audience),
		Expiry:   std.Expiry.Time(),
		Claims:   claims,
		Source:   SourceJWT,
	}
	if p.ClientID == "" {
		p.ClientID = claimString(claims, "azp")
	}
	return p, nil
}

// jwtScopes reads RFC 9068's space-separated "scope", or the "scp" array
// some issuers use instead.
func jwtScopes(claims map[string]any) []string {
	if s := claimString(claims, "scope"); s != "" {
		return splitScope(s)
	}
	return claimStrings(claims, "scp")
}

func claimsDescription(err error) string {
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return "the token has expired"
	case errors.Is(err, jwt.ErrNotValidYet):
		return "the token is not valid yet"
	case errors.Is(err, jwt.ErrIssuedInTheFuture):
		return "the token is issued in the future"
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return "the token was issued by another issuer"
	case errors.Is(err, jwt.ErrInvalidAudience):
		return "the token is not meant for this audience"
	}
	return "the token's claims are invalid"
}

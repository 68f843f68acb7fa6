package oauth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/dpop"
	"github.com/sesameauth/sesame/internal/keys"
	"github.com/sesameauth/sesame/internal/password"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/internal/throttle"
)

// Access token formats (Config.AccessTokenFormat, storage.Client.AccessTokenFormat).
const (
	FormatJWT    = "jwt"
	FormatOpaque = "opaque"
)

// Config is the protocol configuration of the OAuth 2.0 core.
type Config struct {
	// Issuer is the issuer identifier (no trailing slash), e.g.
	// https://id.example.com; endpoints are Issuer + path.
	Issuer string

	// MFARequired is SESAME_MFA=required: the password grant, which
	// cannot ask for a second factor, is refused to every user.
	MFARequired bool

	AccessTokenLifetime  time.Duration
	RefreshTokenLifetime time.Duration
	IDTokenLifetime      time.Duration
	AuthCodeLifetime     time.Duration

	// RotateRefreshTokens issues a new refresh token on every use; reuse of
	// a rotated one revokes the whole grant. When false the presented
	// refresh token is returned again and stays valid until it expires.
	RotateRefreshTokens bool
	// RefreshReuseGrace: a just-rotated refresh token presented again
	// within this window gets the very same new token pair back instead of
	// revoking the grant (0 = strict).
	RefreshReuseGrace time.Duration

	// AccessTokenFormat is the server default, FormatJWT or FormatOpaque; a
	// client may override it.
	AccessTokenFormat string
	// IDTokenSigningAlg and AccessTokenSigningAlg are JWS algorithms that
	// must be in use by the keys.Manager.
	IDTokenSigningAlg     string
	AccessTokenSigningAlg string

	// ClientCacheTTL is how long a client stays in the in-memory cache
	// (clientcache.go): the longest a client change made without
	// Handler.InvalidateClient (say, by another instance) takes to show.
	// 0 means 1 s; negative turns the cache off.
	ClientCacheTTL time.Duration

	// RevocationCacheTTL bounds how long "this access token is not
	// revoked" is remembered (revcache.go) when no revocation this process
	// can see happened meanwhile: the longest a revocation made by another
	// process without a notification (SQLite and the CLI) takes to show.
	// 0 means 1 s; negative turns the cache off.
	RevocationCacheTTL time.Duration

	// DeviceCodeLifetime is how long a device authorization request
	// (RFC 8628) waits for the user; 0 means 10 minutes.
	DeviceCodeLifetime time.Duration
	// DevicePollInterval is the interval a device is told to poll at
	// first; 0 means 5 s (RFC 8628 §3.2's default).
	DevicePollInterval time.Duration

	// RequirePushedAuthorizationRequests makes every client send its
	// authorization requests through PAR (RFC 9126 §5); a client may
	// require it for itself alone.
	RequirePushedAuthorizationRequests bool
	// RequireVerifiedEmail: the password grant refuses a user whose email
	// is not verified (SESAME_REQUIRE_VERIFIED_EMAIL; the rule is
	// app.Passwords'). Only used when Deps.Passwords is nil.
	RequireVerifiedEmail bool
}

// Deps are the dependencies of New.
type Deps struct {
	Config Config
	Store  Store
	Keys   *keys.Manager
	Ring   *secret.Keyring
	// PasswordParams and Throttle build Passwords when it is nil.
	PasswordParams password.Params
	// Passwords is the one password check (internal/app) the password
	// grant uses.
	Passwords *app.Passwords
	Logger    *slog.Logger
	// Now is the clock of Sesame's own decisions (grace window, grant
	// timestamps, denylist expiry); fosite itself uses time.Now.
	Now func() time.Time
	// DPoP verifies DPoP proofs (RFC 9449); nil builds one with the
	// defaults of internal/dpop (ES256, EdDSA, ES384, RS256, PS256; no
	// server nonce). The server shares it with /userinfo.
	DPoP *dpop.Verifier
	// Throttle is the brute-force guard of client authentication and the
	// password grant (throttle.go); nil switches that protection off.
	Throttle *throttle.Guard
}

// validate checks d and fills defaults.
func (d *Deps) validate() error {
	var errs []error
	if d.Store == nil {
		errs = append(errs, errors.New("oauth.Deps.Store is required"))
	}
	if d.Keys == nil {
		errs = append(errs, errors.New("oauth.Deps.Keys is required"))
	}
	if d.Ring == nil {
		errs = append(errs, errors.New("oauth.Deps.Ring is required"))
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.DPoP == nil {
		v, err := dpop.NewVerifier(dpop.Options{Now: d.Now})
		if err != nil {
			errs = append(errs, err)
		}
		d.DPoP = v
	}
	c := &d.Config
	c.Issuer = strings.TrimRight(c.Issuer, "/")
	if u, err := url.Parse(c.Issuer); c.Issuer == "" || err != nil || !u.IsAbs() || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, fmt.Errorf("oauth.Config.Issuer %q must be an absolute http(s) URL without query or fragment", c.Issuer))
	}
	for name, v := range map[string]*time.Duration{
		"AccessTokenLifetime":  &c.AccessTokenLifetime,
		"RefreshTokenLifetime": &c.RefreshTokenLifetime,
		"IDTokenLifetime":      &c.IDTokenLifetime,
		"AuthCodeLifetime":     &c.AuthCodeLifetime,
	} {
		if *v <= 0 {
			errs = append(errs, fmt.Errorf("oauth.Config.%s must be positive, got %s", name, *v))
		}
	}
	if c.DeviceCodeLifetime == 0 {
		c.DeviceCodeLifetime = 10 * time.Minute
	}
	if c.DevicePollInterval == 0 {
		c.DevicePollInterval = 5 * time.Second
	}
	if c.DeviceCodeLifetime < time.Minute || c.DevicePollInterval < time.Second || c.DevicePollInterval%time.Second != 0 {
		errs = append(errs, fmt.Errorf("oauth.Config.DeviceCodeLifetime (%s) must be at least 1m and DevicePollInterval (%s) whole seconds, at least 1s",
			c.DeviceCodeLifetime, c.DevicePollInterval))
	}
	if c.RefreshReuseGrace < 0 {
		errs = append(errs, fmt.Errorf("oauth.Config.RefreshReuseGrace must not be negative, got %s", c.RefreshReuseGrace))
	}
	switch c.AccessTokenFormat {
	case "":
		c.AccessTokenFormat = FormatJWT
	case FormatJWT, FormatOpaque:
	default:
		errs = append(errs, fmt.Errorf("oauth.Config.AccessTokenFormat %q must be %q or %q", c.AccessTokenFormat, FormatJWT, FormatOpaque))
	}
	if c.IDTokenSigningAlg == "" {
		c.IDTokenSigningAlg = keys.RS256
	}
	if c.AccessTokenSigningAlg == "" {
		c.AccessTokenSigningAlg = keys.ES256
	}
	for name, alg := range map[string]string{"IDTokenSigningAlg": c.IDTokenSigningAlg, "AccessTokenSigningAlg": c.AccessTokenSigningAlg} {
		if !keys.IsSupported(alg) {
			errs = append(errs, fmt.Errorf("oauth.Config.%s %q is not supported (supported: %v)", name, alg, keys.Supported()))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("oauth: invalid dependencies: %w", err)
	}
	return nil
}

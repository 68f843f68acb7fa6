package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/sesameauth/sesame/internal/admin"
	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/cimd"
	"github.com/sesameauth/sesame/internal/config"
	"github.com/sesameauth/sesame/internal/demo"
	"github.com/sesameauth/sesame/internal/dpop"
	"github.com/sesameauth/sesame/internal/mfa"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"

	"github.com/sesameauth/sesame/internal/keys"
	"github.com/sesameauth/sesame/internal/password"
	"github.com/sesameauth/sesame/internal/session"
	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/oauth"
	"github.com/sesameauth/sesame/oidc"
	"github.com/sesameauth/sesame/web"
)

// features are the protocol and UI handlers, built in dependency order:
// keys → oauth → oidc (authorize/userinfo/logout on top of oauth) → web.
type features struct {
	keys     *keys.Manager
	oauth    *oauth.Handler
	oidc     *oidc.Handler
	web      *web.Handler
	demo     *demo.Handler // nil unless the demo client exists
	admin    *admin.Handler
	sessions *session.Manager
	throttle *throttle.Guard
	// upstreams are the other providers people sign in through.
	upstreams []web.Upstream
}

// keyAlgorithms is every algorithm a token can be signed with: the two
// configured defaults plus the others a client may register as its
// id_token_signed_response_alg. Each gets its own active key.
var keyAlgorithms = []string{keys.RS256, keys.ES256, keys.PS256, keys.EdDSA}

func (s *Server) passwordParams() password.Params {
	return password.Params{
		MemoryKiB:   s.Config.Argon2MemoryKiB,
		Iterations:  s.Config.Argon2Iterations,
		Parallelism: s.Config.Argon2Parallelism,
	}
}

// Core is the part of the server that issues and checks tokens without
// HTTP: the signing keys and the OAuth handler. The CLI (`sesame keys`,
// `sesame tokens`) uses it so that tokens it issues go through the very
// code paths of the token endpoint.
type Core struct {
	Keys  *keys.Manager
	OAuth *oauth.Handler
}

// NewCore builds the signing keys (generating them on first use) and the
// OAuth handler over an opened store.
func NewCore(ctx context.Context, cfg config.Config, store storage.Store, ring *secret.Keyring, logger *slog.Logger, now func() time.Time) (*Core, error) {
	return newCore(ctx, cfg, store, ring, logger, now, nil)
}

// newCore is NewCore with the server's brute-force guard for client
// authentication and the password grant (nil: the CLI, which serves neither).
func newCore(ctx context.Context, cfg config.Config, store storage.Store, ring *secret.Keyring, logger *slog.Logger, now func() time.Time, guard *throttle.Guard) (*Core, error) {
	if now == nil {
		now = time.Now
	}
	// Retired keys stay in the JWKS until everything they signed has
	// expired: the longest JWT lifetime plus an hour of leeway for clock
	// skew and caches.
	retain := max(cfg.AccessTokenLifetime, cfg.IDTokenLifetime) + time.Hour
	km, err := keys.New(ctx, store, ring, keys.Options{
		Algorithms:        keyAlgorithms,
		RSABits:           cfg.RSAKeyBits,
		RotationInterval:  cfg.KeyRotationInterval,
		RetainAfterRetire: retain,
		OnChange:          keysChanged(store, logger), // ops.go: tell other instances
		Now:               now,
		Logger:            logger,
	})
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	dv, err := dpopVerifier(cfg, ring, now)
	if err != nil {
		return nil, err
	}
	oh, err := oauth.New(oauth.Deps{
		Config: oauth.Config{
			Issuer:                cfg.Issuer,
			MFARequired:           cfg.MFA == "required",
			AccessTokenLifetime:   cfg.AccessTokenLifetime,
			RefreshTokenLifetime:  cfg.RefreshTokenLifetime,
			IDTokenLifetime:       cfg.IDTokenLifetime,
			AuthCodeLifetime:      cfg.AuthCodeLifetime,
			RotateRefreshTokens:   cfg.RotateRefreshTokens,
			RefreshReuseGrace:     cfg.RefreshReuseGrace,
			RevocationCacheTTL:    revocationCacheTTL(cfg.RevocationCacheTTL),
			AccessTokenFormat:     cfg.AccessTokenFormat,
			IDTokenSigningAlg:     cfg.IDTokenSigningAlg,
			AccessTokenSigningAlg: cfg.AccessTokenSigningAlg,
			// RFC 9126 §5 (SESAME_REQUIRE_PUSHED_AUTHORIZATION_REQUESTS).
			RequirePushedAuthorizationRequests: cfg.RequirePushedAuthorizationRequests,
			RequireVerifiedEmail:               cfg.RequireVerifiedEmail,
		},
		Store:    store,
		Keys:     km,
		Ring:     ring,
		Logger:   logger,
		Now:      now,
		Throttle: guard,
		DPoP:     dv,
		PasswordParams: password.Params{
			MemoryKiB:   cfg.Argon2MemoryKiB,
			Iterations:  cfg.Argon2Iterations,
			Parallelism: cfg.Argon2Parallelism,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("oauth: %w", err)
	}
	return &Core{Keys: km, OAuth: oh}, nil
}

// dpopVerifier checks the DPoP proofs of the token endpoint and
// /userinfo. With SESAME_DPOP_NONCES its nonces are keyed from the system
// secret, so every instance accepts the nonce another one handed out.
func dpopVerifier(cfg config.Config, ring *secret.Keyring, now func() time.Time) (*dpop.Verifier, error) {
	o := dpop.Options{Now: now}
	if cfg.DPoPNonces {
		n, err := dpop.NewNonces(ring.Derive("dpop-nonce"), 0, now)
		if err != nil {
			return nil, fmt.Errorf("dpop nonces: %w", err)
		}
		o.Nonces = n
	}
	v, err := dpop.NewVerifier(o)
	if err != nil {
		return nil, fmt.Errorf("dpop: %w", err)
	}
	return v, nil
}

func (s *Server) buildFeatures(ctx context.Context) (*features, error) {
	cfg := s.Config
	f := &features{}
	tc := s.throttleConfig()
	if err := tc.Validate(); err != nil {
		return nil, fmt.Errorf("brute-force protection: %w", err)
	}
	f.throttle = throttle.New(s.throttleStore(), s.Store, tc, s.now).WithLogger(s.Logger)
	if s.ops != nil && s.ops.metrics != nil {
		f.throttle.OnRefused(s.ops.metrics.AuthRefused)
	}
	// Client ID metadata documents: the protocol handlers and the pages
	// look clients up through a store that resolves URL client ids.
	clients := s.Store
	if cfg.ClientIDMetadataDocuments {
		clients = cimd.Wrap(s.Store, cimd.New(cimd.Options{AllowLoopback: s.cimdLoopback, RootCAs: s.cimdRoots, Now: s.now, Logger: s.Logger}))
	}
	core, err := newCore(ctx, cfg, clients, s.Ring, s.Logger, s.now, f.throttle)
	if err != nil {
		return nil, err
	}
	f.keys, f.oauth = core.Keys, core.OAuth

	f.sessions = session.New(s.Store, cfg.Issuer, cfg.SessionLifetime, s.now).WithIdleTimeout(cfg.SessionIdleTimeout)

	var upstreamIDs []string
	for _, u := range cfg.Upstreams {
		upstreamIDs = append(upstreamIDs, u.ID)
	}
	policy := app.MFAPolicy{Required: cfg.MFA == "required"}
	f.oidc, err = oidc.New(oidc.Deps{
		OAuth: f.oauth, Store: clients, Sessions: f.sessions, Keys: f.keys,
		Issuer: cfg.Issuer, Logger: s.Logger, UpstreamIDs: upstreamIDs, MFA: policy,
		// Discovery advertises what is mounted: admin's registration
		// endpoint (server.go mounts it always) and, when on, client ID
		// metadata documents.
		Registration: cfg.Issuer + admin.PathRegister, ClientIDMetadataDocuments: cfg.ClientIDMetadataDocuments,
	})
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}

	// /demo only makes sense where the demo client exists (first start of
	// an empty SQLite store, or one an operator created under that id).
	demoClient := ""
	if cfg.Demo {
		if _, err := s.App.GetClient(ctx, DemoClientID); err == nil {
			demoClient = DemoClientID
		}
	}
	scopeTexts, err := cfg.ScopeTexts() // validated by config
	if err != nil {
		return nil, err
	}
	// Sign-in through other providers (upstreams.go).
	if f.upstreams, err = buildUpstreams(cfg.Upstreams, s.upstreamHTTP, s.Logger, s.now); err != nil {
		return nil, err
	}
	// Second factors (SPEC part two): one password check and one guard
	// shared by the login form and the second step.
	passwords := app.NewPasswords(s.Store, f.throttle, s.passwordParams(), s.Logger).WithRequireVerifiedEmail(cfg.RequireVerifiedEmail)
	mfaService, err := mfa.New(s.Store, s.Ring, cfg.RPID(), s.now)
	if err != nil {
		return nil, fmt.Errorf("second factors: %w", err)
	}
	// Passkeys are bound to the RP id (SESAME_WEBAUTHN_RP_ID, default the
	// issuer's host) and answered only from the issuer's origin. WebAuthn
	// has no RP id for an issuer at an IP address (http://127.0.0.1:8080):
	// there the server runs without passkeys and says so once.
	if err := mfaService.WithPasskeys(mfa.PasskeyConfig{
		RPID: cfg.RPID(), RPName: "Sesame", Origins: []string{issuerOrigin(cfg.Issuer)},
	}); err != nil {
		s.Logger.Warn("passkeys are off: the issuer's host is not a valid WebAuthn relying-party id (use a host name, e.g. localhost)",
			"rp_id", cfg.RPID(), "err", err)
	}
	factors, err := app.NewFactors(s.Store, mfaService, passwords, f.throttle, policy, s.Logger)
	if err != nil {
		return nil, fmt.Errorf("second factors: %w", err)
	}
	f.web, err = web.New(web.Deps{
		App: s.App, Store: clients, Sessions: f.sessions, Issuer: cfg.Issuer, Logger: s.Logger,
		PasswordParams: s.passwordParams(), Throttle: f.throttle,
		ScopeDescriptions: scopeTexts, Upstreams: f.upstreams,
		// RFC 8628 verification page; wrong user codes count in the guard.
		Devices:   app.NewDevices(s.Store, s.Ring, f.throttle, s.Logger, s.now),
		Passwords: passwords, Factors: factors,
		EmailLinkLifetime: cfg.VerifyLinkLifetime,
		MailOff:           cfg.MailDelivery() == config.MailOff,
	})
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	if demoClient != "" {
		if f.demo, err = demo.New(demo.Deps{Issuer: cfg.Issuer, ClientID: demoClient, Logger: s.Logger}); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	f.admin, err = admin.New(admin.Deps{
		App: s.App, Store: s.Store, Keys: f.keys, Tokens: admin.OAuthVerifier{OAuth: f.oauth},
		Ring: s.Ring, Issuer: cfg.Issuer, OpenRegistration: cfg.OpenRegistration,
		RegistrationAudiences: cfg.RegistrationAudienceList(),
		Logger:                s.Logger, Now: s.now,
		Upstreams: func(ctx context.Context) []app.UpstreamStatus { return checkUpstreams(ctx, f.upstreams) },
	})
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	return f, nil
}

// revocationCacheTTL maps the setting (0 = off) to oauth.Config's (0 =
// its default, negative = off).
func revocationCacheTTL(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// issuerOrigin is the scheme://host[:port] of the issuer, the only origin
// WebAuthn responses may come from.
func issuerOrigin(issuer string) string {
	u, err := url.Parse(issuer)
	if err != nil {
		return issuer
	}
	return u.Scheme + "://" + u.Host
}

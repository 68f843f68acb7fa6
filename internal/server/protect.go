package server

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/sesameauth/sesame/internal/httpx"
	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/oidc"
)

// Route groups the protections apply to. Health, metrics, static files and
// /admin (bearer-authenticated) are deliberately not rate-limited.
var (
	apiPaths = []string{"/oauth2/token", "/oauth2/introspect", "/oauth2/revoke", "/userinfo",
		oidc.PathOIDCDiscovery, oidc.PathASMetadata, oidc.PathJWKS}
	browserPaths  = []string{"/oauth2/authorize", "/login", "/consent", "/account", "/account/*", "/oauth2/logout"}
	registerPaths = []string{"/oauth2/register", "/oauth2/register/*"}
	// tokenPaths answer with credentials or personal data: never cached.
	tokenPaths = []string{"/oauth2/token", "/oauth2/introspect", "/oauth2/revoke", "/userinfo"}
)

func (s *Server) throttleConfig() throttle.Config {
	tc := throttle.DefaultConfig()
	tc.Enabled = s.Config.BruteForceEnabled
	tc.MaxFailures = s.Config.BruteForceMaxFailures
	tc.BaseLock = s.Config.BruteForceBaseLock
	tc.MaxLock = s.Config.BruteForceMaxLock
	return tc
}

// protect installs the engine-wide protections. It must run before any
// route is mounted: gin copies middleware into each route when it is added.
func (s *Server) protect() error {
	cfg := s.Config
	var proxies []string
	if strings.TrimSpace(cfg.TrustedProxies) != "" {
		var err error
		if proxies, err = httpx.ParseTrustedProxies(cfg.TrustedProxies); err != nil {
			return fmt.Errorf("invalid SESAME_TRUSTED_PROXIES: %w", err)
		}
	}
	if err := httpx.ConfigureProxies(s.Engine, proxies); err != nil {
		return fmt.Errorf("trusted proxies: %w", err)
	}

	api := httpx.DefaultAPIRateLimit()
	api.Rate, api.Burst = rate.Limit(cfg.RateLimitAPIRPS), cfg.RateLimitAPIBurst
	browser := httpx.DefaultBrowserRateLimit()
	browser.Rate, browser.Burst = rate.Limit(cfg.RateLimitBrowserRPS), cfg.RateLimitBrowserBurst
	register := httpx.DefaultRegisterRateLimit()
	for _, rl := range []*httpx.RateLimitConfig{&api, &browser, &register} {
		rl.Disabled = !cfg.RateLimitEnabled
		if err := rl.Validate(); err != nil {
			return fmt.Errorf("rate limits: %w", err)
		}
	}

	origins := httpx.NewStoreOrigins(s.Store, time.Minute, s.now)
	limited := append(append(append([]string{}, apiPaths...), browserPaths...), registerPaths...)
	form := append(append([]string{}, apiPaths...), browserPaths...)
	s.Engine.Use(
		httpx.StoreClientIP(),
		httpx.SecurityHeaders(httpx.SecurityOptions{Issuer: cfg.Issuer}),
		// Rate limits first: the cheapest refusal.
		httpx.ForPaths(httpx.RateLimit(api), apiPaths...),
		httpx.ForPaths(httpx.RateLimit(browser), browserPaths...),
		httpx.ForPaths(httpx.RateLimit(register), registerPaths...),
		httpx.ForPaths(httpx.BodyLimit(cfg.MaxBodyBytes), limited...),
		httpx.ForPaths(httpx.LimitParams(httpx.DefaultParamLimits()), form...),
		// CORS per client on the endpoints browsers call directly; never
		// on the authorization endpoint.
		httpx.ForPaths(httpx.CORS(origins, httpx.CORSClient), "/oauth2/token", "/oauth2/revoke", "/oauth2/introspect"),
		httpx.ForPaths(httpx.CORS(origins, httpx.CORSAnyClient), "/userinfo"),
		httpx.ForPaths(httpx.NoStore(), tokenPaths...),
	)
	return nil
}

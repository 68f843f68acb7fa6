// Package httpx holds the HTTP building blocks every Sesame endpoint
// shares: the JSON error writer, security headers, no-store caching,
// per-IP rate limits, request size caps, trusted-proxy client IPs and
// per-client CORS. It is gin middleware and small helpers only; it imports
// storage (for StoreOrigins) and nothing from oauth, oidc or web, which
// import it.
//
// What is wired where (internal/server mounts it engine-wide, per path
// with ForPaths, before any route is added; see each function):
//
//   - ConfigureProxies on the engine, once: X-Forwarded-For is believed only
//     from SESAME_TRUSTED_PROXIES. ClientIP then serves the request log,
//     RateLimit, the brute-force guard (internal/throttle) and audit;
//     StoreClientIP (engine-wide) hands the same address to net/http-style
//     handlers through RequestIP.
//   - SecurityHeaders on the whole engine: CSP, X-Frame-Options, nosniff,
//     Referrer-Policy, and HSTS for an https issuer.
//   - RateLimit per route group: API (token, introspect, revoke,
//     userinfo, discovery, JWKS), browser pages (authorize, login,
//     consent, account, logout; HTML 429 page) and registration. Not on
//     healthz, readyz, metrics or /static.
//   - BodyLimit then LimitParams on every public route that takes
//     parameters, so oversize or malformed input is a 413/400, never a 500.
//   - CORS(lookup, CORSClient) on token, revoke and introspect and
//     CORS(lookup, CORSAnyClient) on userinfo, each also registered for
//     OPTIONS with Preflight; StoreOrigins is the lookup.
//   - NoStore on token, introspect, revoke and userinfo.
//
// Files: errors.go (WriteError), headers.go (SecurityHeaders, NoStore),
// clientip.go (ConfigureProxies, ClientIP, StoreClientIP, RequestIP),
// ratelimit.go, limits.go (BodyLimit, LimitParams), cors.go,
// origins.go (StoreOrigins), paths.go (ForPaths).
package httpx

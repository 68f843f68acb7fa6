// Package rs is the resource-server kit: it lets an API written in Go accept
// access tokens issued by Sesame (or any standards-following authorization
// server) and know who is calling.
//
// It owns three ways to check a bearer token and the HTTP glue around them:
//
//   - Verifier checks RFC 9068 JWT access tokens locally: signature against
//     the issuer's JWKS (found through RFC 8414 / OpenID discovery), typ
//     "at+jwt", iss, aud, exp/nbf with a small leeway, and an explicit list
//     of asymmetric algorithms (never "none", never HMAC). Keys are cached;
//     an unknown kid triggers a refresh at most once per
//     JWKSRefreshMinInterval, so key rotation is picked up without a restart
//     but random kids cannot hammer the issuer.
//   - Introspector asks the issuer (RFC 7662), authenticating as a client
//     with client_secret_basic. In Sesame that client needs the
//     sesame:introspect scope to see other clients' tokens. Concurrent
//     requests with the same token share one call (single-flight). An
//     optional cache (CacheTTL, CacheSize) keeps active answers for at most
//     CacheTTL and never past the token's exp; a revocation therefore shows
//     after at most CacheTTL. Inactive answers are never cached: they are
//     cheap to get again, single-flight already merges floods of the same
//     bad token, and caching them would let random garbage evict the
//     entries of real users from the bounded cache.
//   - NewAuthenticator combines both: tokens shaped like a JWT are verified
//     locally, everything else is introspected.
//
// Middleware (net/http) and Gin put the verified *Principal in the request
// context (FromContext) and refuse per RFC 6750 §3: 401 with
// `WWW-Authenticate: Bearer realm="…"` when there is no token, 401 with
// error="invalid_token" and an error_description when it is refused, 400
// invalid_request for a malformed header, 403 insufficient_scope with
// scope="…" from RequireScopes / GinRequireScopes, and 503 without a
// challenge when the issuer cannot be reached (so clients keep their
// tokens). Every error from Authenticate wraps ErrInvalidToken or
// ErrUnavailable; *Error carries the client-safe description.
//
// DPoP (RFC 9449 §7): a token bound to a key (cnf.jkt in the JWT or the
// introspection answer) is accepted only with `Authorization: DPoP …` and
// a DPoP proof for this request (htm, htu, iat, ath) by that key, whose jti
// has not been seen; a bound token presented as Bearer, and the DPoP scheme
// with an unbound token, are 401 with a `WWW-Authenticate: DPoP` challenge.
// The check is always on (WithDPoP / NewDPoP adjust it: PublicURL behind a
// proxy, algorithms, window); the jti replay cache is in memory, per
// process.
//
// Protected resource metadata (RFC 9728, metadata.go): ProtectedResource
// serves /.well-known/oauth-protected-resource[/path] for an API (its
// resource identifier, authorization servers and scopes), and
// WithResourceMetadata makes every 401 and 403 challenge carry
// resource_metadata="…" so a client can discover the authorization
// server from the API alone (the MCP authorization flow).
//
// Tokens and secrets are never logged.
//
// rs depends only on the standard library, go-jose v4, gin and x/sync,
// x/time, and internal/dpop (Sesame's one DPoP proof checker, a leaf
// package of the same kind); it must not import any other Sesame package,
// so it can be used by APIs that have nothing else to do with Sesame's
// code.
package rs

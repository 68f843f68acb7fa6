// Package security is Sesame's adversarial test suite: it boots the real
// server (internal/server.New) on a loopback listener and attacks it over
// HTTP the way RFC 9700 (OAuth 2.0 Security Best Current Practice), RFC 6749
// §10, RFC 6819, RFC 7636, RFC 8725 and the OpenID Connect conformance
// tests describe: redirect URI manipulation, PKCE downgrade, code and
// refresh-token replay and injection, forged JWTs, login CSRF, open
// redirects, mix-up, scope escalation, brute force, and the transport
// protections (security headers, CORS, rate limits, body caps, TLS).
//
// Every case names the section or advisory it comes from and asserts the
// exact status and error. It also holds the end-to-end check that no token,
// code, secret or password ever reaches the log.
//
// The package has no non-test code; it imports internal/server, which
// nothing but cmd and end-to-end tests may import.
package security

// Package bench is the engine behind cmd/sesame-bench: it drives one OAuth 2.0
// / OpenID Connect flow against any standards-compliant server (endpoints come
// from discovery) at a fixed concurrency, bounded by a duration, a request
// count and a hard cap, and summarises throughput, exact latency percentiles
// and errors grouped by kind.
//
// It owns the flows (client_credentials, password, refresh, introspect,
// authorization_code through an HTML login form, jwks, userinfo, in-process
// JWT verification, health), the run loop, the live progress line and the
// report. It talks to servers only over HTTP and must not import any other
// Sesame package, so its figures are comparable between Sesame and other
// servers (Ory Hydra, Keycloak, Dex…).
package bench

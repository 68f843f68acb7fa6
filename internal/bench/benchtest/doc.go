// Package benchtest is a small, strict, in-memory OAuth 2.0 / OpenID
// Connect server on httptest for the tests of internal/bench and
// cmd/sesame-bench: discovery, a token endpoint (client_credentials,
// password, refresh_token with rotation, authorization_code with PKCE),
// introspection, an ES256 JWKS, userinfo, health, and an authorize → login
// → consent flow with csrf_token hidden fields and cookies.
//
// It counts the hits of every endpoint so that tests can assert exactly
// how many requests a run sent, and lets a test make the token endpoint
// fail or the health endpoint slow. It is test support only; nothing in the
// server imports it.
package benchtest

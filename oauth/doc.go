// Package oauth is Sesame's OAuth 2.0 core, built on fosite v0.49: the
// token (RFC 6749), introspection (RFC 7662) and revocation (RFC 7009)
// endpoints, the metadata of those endpoints (metadata.go: Handler.Metadata,
// typed; package oidc serves the discovery documents and the JWKS), the
// fosite session type, the storage adapter, the token strategy and the JWT
// signer. Package oidc builds the authorize endpoint,
// ID-token claims, userinfo and logout on top of the narrow functions of
// authorize.go (ParseAuthorizeRequest, IssueCode, AuthorizeFailure) and
// VerifyAccessToken; no fosite type and none of the request-state ritual
// (reqstate.go) leaves this package.
//
// It imports storage (interfaces only), internal/keys, internal/secret and
// internal/password; never a storage backend, web or internal/server.
//
// # Composition
//
// fosite is composed explicitly (compose.Compose) with only: authorization
// code, PKCE (S256 only, required for public clients), refresh token,
// client credentials, resource owner password, OpenID Connect explicit and
// refresh, stateful introspection and revocation. Scopes and audiences are
// matched exactly.
//
// # Our own JWT signer
//
// fosite's DefaultSigner signs and verifies with whatever single key its
// getter returns now, so every token signed before a key rotation would
// stop verifying (introspection of JWT access tokens, id_token_hint).
// jwtSigner (signer.go) signs with the active key of its algorithm from
// internal/keys using go-jose v4, puts the kid in the header, and verifies
// by kid against every published key, accepting only the asymmetric
// algorithms internal/keys supports. go-jose v3, which fosite exposes in
// two places, is confined to jose3.go.
//
// # Access token format per client
//
// tokenStrategy (strategy.go) is the oauth2.CoreStrategy given to fosite.
// For each request it issues an RFC 9068 JWT (typ at+jwt) or an opaque HMAC
// token (prefix sesame_at_), from the client's AccessTokenFormat or else
// Config.AccessTokenFormat. Calls without a request (the *Signature
// methods) need no client: the storage key of an access token is its last
// dot-separated segment, which is the JWS signature of a JWT and the HMAC
// of an opaque token. Refresh tokens (sesame_rt_) and codes (sesame_ac_)
// are always opaque.
//
// # Where revocation lives
//
// Every opaque token and code is a storage.TokenRecord keyed by the SHA-256
// of its fosite signature, with the request sealed (AES-GCM) because
// sessions carry personal data. A grant family (fosite's request id) has a
// storage.Grant row, and revocation lives there: revoking any token of a
// family (RFC 7009, refresh-token reuse, code replay, an admin) marks the
// grant revoked and deactivates its rows. Lookups check the row and the
// grant.
//
// JWT access tokens have no row (store_jwt.go): issuing one is a signature
// plus, for a new grant, the grant row. The token names its grant in a
// grant_id claim; looking it up (introspection, userinfo, revocation)
// verifies it by kid and checks exp, the grant and the jti denylist
// (storage.NonceJWTDenylist), where revoking a JWT itself puts its jti
// until exp. To make that possible, the access-token "signature" fosite
// passes to GetAccessTokenSession is the whole JWT.
//
// # Caches
//
// Clients are cached in memory for Config.ClientCacheTTL (clientcache.go);
// Handler.InvalidateClient drops one at once after a write. Grants and the
// denylist are never cached: revocation takes effect on the next request.
//
// # Races
//
// Redeeming a code and rotating a refresh token are conditional updates
// (storage.TokenStore.DeactivateToken): of concurrent requests exactly one
// wins; the others roll back and get invalid_grant. A refresh token
// presented after it was rotated revokes the grant, unless it comes back
// within Config.RefreshReuseGrace while its successor is still live: then
// the very same new pair, sealed into the old row at rotation, is returned.
// With Config.RotateRefreshTokens off, the presented refresh token is kept
// and returned again (its lifetime is absolute from first issuance).
//
// # Errors
//
// Protocol errors are written by fosite's writers, without debug details.
// fosite turns some storage failures into protocol errors (a failed client
// lookup into invalid_client); the adapter records every infrastructure
// failure in the request context and the endpoints answer those with 503
// temporarily_unavailable instead, so a client never discards a valid
// credential because the database was down.
package oauth

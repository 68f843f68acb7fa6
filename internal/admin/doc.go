// Package admin owns Sesame's administrative HTTP surface:
//
//   - the /admin/ JSON API (clients, users, consents, keys, token
//     revocation, audit log, registration tokens), each call authorized by
//     a bearer access token of this server carrying the sesame:admin scope;
//   - OAuth 2.0 Dynamic Client Registration (RFC 7591, POST
//     /oauth2/register) and its management protocol (RFC 7592,
//     GET|PUT|DELETE /oauth2/register/{client_id}).
//
// Every change goes through the use cases of internal/app, the same ones
// the CLI runs, so a client or user is validated identically whichever way
// it arrives. The few use cases app does not have (consents, registration
// tokens, user profile edits, key rotation auditing) are written here on
// top of storage.
//
// It may import internal/app, internal/keys, internal/secret, oauth and
// storage; never cmd, internal/server, web or the storage backends.
package admin

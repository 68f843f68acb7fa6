// Package cimd resolves OAuth Client ID Metadata Documents
// (draft-ietf-oauth-client-id-metadata-document): a client_id that is an
// https URL names a JSON document, served by the client, that holds its
// metadata. Resolving it means fetching a URL an anonymous caller chose, so
// the package is first of all an SSRF defence, and it owns that rule alone.
//
// # What a fetch may reach
//
// Only https (Options.AllowLoopback, which no setting exposes, lets a test
// use http on loopback). The HTTP client never uses a proxy; it resolves
// the host itself and dials only addresses that pass PublicAddr, and the
// dialer's Control checks the address again right before each connect, so
// a DNS answer that changes between the check and the dial (rebinding)
// cannot slip through: whatever the socket connects to was checked.
// Refused: loopback, private (RFC 1918), carrier-grade NAT, link-local
// (169.254.0.0/16 with the cloud metadata address, fe80::/10),
// unique-local (fc00::/7), unspecified, multicast, broadcast and
// documentation ranges, and the IPv4-mapped, NAT64 and 6to4 IPv6 forms of
// them. Every connection is checked, so each redirect is too; redirects are
// also limited in number and must stay on https. The whole fetch,
// redirects and body included, has one deadline, and the body is read up to
// MaxDocumentBytes (5 KiB, the draft's suggestion) and refused beyond.
//
// # What a document must say
//
// The document's client_id equals the URL exactly (§4.1); it holds no
// shared secret and no secret-based auth method; its redirect URIs pass
// app.ValidateClient like every other client's and are later matched
// exactly by fosite. A client is public (auth method none, PKCE required)
// unless it names private_key_jwt with a jwks_uri, which is fetched under
// the same rules and kept inline, so fosite never fetches a key set itself.
//
// # Cache
//
// Resolved clients are cached for the document's Cache-Control max-age,
// bounded by Options.MinTTL and MaxTTL; a failure is remembered for
// FailureTTL so that a flood of requests naming a broken URL costs one
// fetch. At most MaxEntries are kept (an expired entry, else an arbitrary
// one, makes room), and concurrent lookups of one URL share one fetch.
//
// # Wiring
//
// Store wraps a storage.Store so that GetClient answers URL client ids
// from the resolver; every other call, and every registered client (whose
// ids can never contain "://"), goes straight to the store after a prefix
// test. internal/server hands the wrapped store to oauth, oidc and web.
//
// It imports internal/app (client validation) and storage only.
package cimd

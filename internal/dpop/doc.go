// Package dpop checks DPoP proofs (RFC 9449): the one verifier used by the
// token endpoint and userinfo (packages oauth and oidc) and by the rs kit,
// so the rules live in one place.
//
// A proof is a JWS with typ dpop+jwt, an asymmetric alg from Algorithms
// and the signer's public key in the jwk header. Verify checks signature,
// htm, htu (without query and fragment, normalised), iat (at most Window
// old, at most FutureSkew ahead), ath when an access token is presented,
// the key against a token's cnf.jkt, the server nonce when configured, and
// finally claims the jti in a ReplayCache. The cache is in memory, per
// process, bounded in size and time; see ReplayCache for what happens when
// it is full.
//
// It imports only the standard library and go-jose v4, never another
// Sesame package: the rs kit, which must stay free of Sesame's server,
// imports it.
package dpop

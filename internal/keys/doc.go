// Package keys owns Sesame's asymmetric signing keys: the keys that sign ID
// tokens and JWT access tokens, their life cycle (pending → active →
// retired → deleted), their encryption at rest, and the public JWK Set.
//
// Life cycle. Each algorithm in use (Options.Algorithms) has exactly one
// active key, which signs everything of that algorithm. A new key is first
// stored as pending and published in the JWKS; automatic rotation activates
// it only after it has been published for Options.PublishLead, so relying
// parties that cache the JWKS know it before it signs anything. Activation
// retires the previous key, which stays published (and usable for
// verification through Lookup) for Options.RetainAfterRetire, then Run
// deletes it.
//
// Several instances. Every instance runs the same Manager over one store.
// storage.KeyStore.ActivateKey is a compare-and-swap on the active key of an
// algorithm, so concurrent rotations produce exactly one new active key;
// the losers delete the pending key they created, and a pending key left
// over from a lost race (created before the current active key was
// activated, and at least a minute old so clock skew cannot hit a key being
// activated right now) is deleted by the next maintenance pass. Run reloads the store
// every Options.RefreshInterval as a backstop for missed notifications.
//
// Key ids are the RFC 7638 JWK SHA-256 thumbprint of the public key,
// base64url without padding: unique per key, reproducible by anyone who has
// the public JWK, and free of any information beyond the key itself.
//
// At rest, the private key is a JWK (JSON) sealed with secret.Keyring.Seal,
// its additional data bound to the kid ("sesame-signing-key:"+kid) so a
// sealed key cannot be moved to another row. The public JWK is stored in
// clear. Private material is never logged.
//
// This package uses go-jose v4 and the standard crypto packages only; it
// must not import fosite or go-jose v3 (the oauth package adapts these keys
// to fosite), and imports nothing of Sesame but storage and internal/secret.
package keys

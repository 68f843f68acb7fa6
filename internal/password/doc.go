// Package password hashes and verifies user passwords with argon2id
// (RFC 9106) in the self-describing PHC string form
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>, so parameters can be raised
// later and old hashes upgraded on the next successful login (NeedsRehash).
//
// It imports only the standard library and golang.org/x/crypto.
package password

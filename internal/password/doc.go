// Package password hashes and verifies user passwords with argon2id
// (RFC 9106) in the self-describing PHC string form
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>, so parameters can be raised
// later and old hashes upgraded on the next successful login (NeedsRehash).
//
// Verify also checks the hashes of Django's password hashers (django.go:
// pbkdf2_sha256, pbkdf2_sha1, argon2id/argon2i, bcrypt_sha256, bcrypt,
// scrypt) so users imported from Django keep their passwords; such a hash
// always reports "needs rehash". Inspect names a stored hash's algorithm
// without verifying it (the importer's report).
//
// It imports only the standard library and golang.org/x/crypto.
package password

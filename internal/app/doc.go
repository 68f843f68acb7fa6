// Package app holds Sesame's administrative use cases — create a user or a
// client, disable a user, rotate a client secret, revoke by user or client,
// lift a brute-force lock, read the audit log — shared by the CLI and the
// admin API so that both validate and audit identically. Every change runs
// in one storage transaction together with its audit event, so nothing is
// half-written.
//
// It is also the one owner of the credential rules the web UI and the
// token endpoint apply: Passwords.Verify (passwords.go) is the only
// password check — input limits before any lookup, the brute-force guard,
// the dummy hash for unknown users, Disabled, the upgrade of old or Django
// hashes to argon2id.
//
// It also defines the JSON views (UserView, ClientView, AuditView) whose
// snake_case field names are the stable contract of `--json` and /admin/.
//
// It may import storage, internal/password, internal/secret and
// internal/throttle (for its counter keys and Unlock); never
// cmd, internal/server or the HTTP packages.
package app

// Package throttle is Sesame's brute-force protection: failure counters per
// account (username or client id) and per client IP, kept in the store
// (storage.ThrottleStore) so that a lock holds across instances and
// restarts, with exponential back-off, an audit event per lock and an
// administrative Unlock.
//
// Two kinds of credential use one Guard:
//
//   - passwords (web /login, /account, the password grant), only through
//     internal/app's Passwords.Verify: CheckPassword, FailPassword,
//     SucceedPassword (password.go) — a lock per (username, address) and
//     per address, a per-username slow-down that never locks;
//   - client secrets (token, introspect, revoke, in package oauth): the
//     address counter only (IPKey); generated secrets need no per-client
//     lock, which any stranger could otherwise trip.
//
// Keys are computed from the submitted username whether or not such a user
// exists, so a lock never tells an attacker which usernames are real; the
// message shown for a lock (Message) is the same in both cases.
//
// The package imports only storage; it knows nothing of HTTP.
package throttle

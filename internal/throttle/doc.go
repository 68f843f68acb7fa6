// Package throttle is Sesame's brute-force protection: failure counters per
// account (username or client id) and per client IP, kept in the store
// (storage.ThrottleStore) so that a lock holds across instances and
// restarts, with exponential back-off, an audit event per lock and an
// administrative Unlock.
//
// Every place that checks a password or a client secret uses one Guard:
//
//   - web /login and the password grant: Check(UserKey(username), IPKey(ip))
//     before verifying, Fail(ip, ua, UserKey(username)) after a wrong
//     password, Succeed(UserKey(username)) after a right one;
//   - client authentication (token, introspect, revoke): the same with
//     ClientKey(clientID).
//
// UserKey is computed from the submitted username whether or not such a
// user exists, so a lock never tells an attacker which usernames are real;
// the message shown for a lock (Message) is the same in both cases.
//
// The package imports only storage; it knows nothing of HTTP.
package throttle

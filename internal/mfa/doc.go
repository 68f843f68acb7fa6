// Package mfa owns the second factors of SPEC part two "Second factors and
// passkeys": TOTP (RFC 6238), recovery codes and the WebAuthn ceremonies.
// It knows how a factor is made, stored and checked; it does not decide
// when one is needed (policy lives in internal/app) and it does not count
// failures (the one brute-force guard is internal/app's, which calls
// this package behind it).
//
// It imports internal/secret and storage only.
//
// # TOTP
//
// SHA-1, 6 digits, 30-second steps, the common profile every authenticator
// app supports (pquerna/otp builds the key and the otpauth:// URI). A code
// is accepted for the current step and one step either side (clock drift),
// compared in constant time. The step of an accepted code becomes the
// factor's counter through a conditional UPDATE
// (storage.FactorStore.AdvanceFactorCounter): a code, or any code of an
// earlier step, is refused once one was accepted — so of two concurrent
// submissions of one code exactly one wins.
//
// The shared secret is sealed with the system secret (AES-256-GCM,
// secret.Keyring.Seal) bound to the factor and user ids, so a row copied to
// another user does not open. Old system secrets in the keyring still open
// it after a rotation of SESAME_SECRET, as for signing keys.
//
// Enrolment creates an unconfirmed factor; it counts only after the user
// has entered a code from it (ConfirmTOTP), so a QR code scanned wrongly or
// not at all locks nobody out.
//
// # Recovery codes
//
// Ten random codes of 50 bits each, shown once. Only an HMAC keyed by a
// sub-key of the system secret is stored: a leaked table is useless without
// SESAME_SECRET, and 50 bits are far beyond online guessing behind the
// guard. Use is a conditional UPDATE, so a code works once.
package mfa

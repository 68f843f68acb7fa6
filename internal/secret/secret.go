// Package secret owns the system secret (SESAME_SECRET): the sub-keys
// derived from it for each purpose, sealing data at rest (signing keys) with
// AES-256-GCM, and the keyed hash of client secrets. Old secrets can be kept
// beside the current one so that a rotation of SESAME_SECRET does not
// invalidate what was sealed or hashed before: new material always uses the
// current secret, verification and decryption try every secret.
//
// It imports only the standard library and golang.org/x/crypto.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/hkdf"
)

// MinLength is the minimum length of a system secret in bytes.
const MinLength = 32

// Purposes for Derive. Each purpose gets an independent key, so a leak of
// one derived key (say, the fosite HMAC key) says nothing about the others.
const (
	PurposeAtRest       = "sesame/v1/at-rest"       // AES-GCM sealing of signing keys
	PurposeClientSecret = "sesame/v1/client-secret" // keyed hash of client secrets
	PurposeTokenHMAC    = "sesame/v1/token-hmac"    // fosite GlobalSecret for opaque tokens
	PurposeDRFToken     = "sesame/v1/drf-token"     // keyed hash of imported DRF token keys
	PurposeBound        = "sesame/v1/bound"         // SealBound: keys that also need a holder's value
	PurposeRecoveryCode = "sesame/v1/recovery-code" // keyed hash of second-factor recovery codes
	PurposeUserCode     = "sesame/v1/user-code"     // keyed hash of device-flow user codes (RFC 8628)
)

// ErrDecrypt is returned when no secret of the keyring opens a sealed value.
var ErrDecrypt = errors.New("secret: cannot decrypt with any configured secret (wrong or rotated-out SESAME_SECRET?)")

// Keyring holds the current system secret and any old ones.
type Keyring struct {
	secrets [][]byte // [0] is current
}

// New builds a keyring. current signs/seals new material; old values are
// only used to verify/open what they produced.
func New(current []byte, old ...[]byte) (*Keyring, error) {
	all := append([][]byte{current}, old...)
	for i, s := range all {
		if len(s) < MinLength {
			if i == 0 {
				return nil, fmt.Errorf("secret: SESAME_SECRET must be at least %d bytes, got %d", MinLength, len(s))
			}
			return nil, fmt.Errorf("secret: old secret #%d must be at least %d bytes, got %d", i, MinLength, len(s))
		}
	}
	cp := make([][]byte, len(all))
	for i, s := range all {
		cp[i] = append([]byte(nil), s...)
	}
	return &Keyring{secrets: cp}, nil
}

// Generate returns a new random secret suitable for SESAME_SECRET
// (64 base64url characters, 48 random bytes).
func Generate() (string, error) {
	b := make([]byte, 48)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		return "", fmt.Errorf("secret: generate: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func derive(secret []byte, purpose string) []byte {
	out := make([]byte, 32)
	r := hkdf.New(sha256.New, secret, nil, []byte(purpose))
	if _, err := io.ReadFull(r, out); err != nil {
		// HKDF-SHA256 can produce 255*32 bytes; 32 never fails.
		panic("secret: hkdf: " + err.Error())
	}
	return out
}

// Derive returns the 32-byte key of purpose under the current secret.
func (k *Keyring) Derive(purpose string) []byte { return derive(k.secrets[0], purpose) }

// DeriveOld returns the keys of purpose under every old secret (newest first).
func (k *Keyring) DeriveOld(purpose string) [][]byte {
	out := make([][]byte, 0, len(k.secrets)-1)
	for _, s := range k.secrets[1:] {
		out = append(out, derive(s, purpose))
	}
	return out
}

const sealVersion = 1

// Seal encrypts plaintext with AES-256-GCM under the current secret. aad
// binds the ciphertext to its context (e.g. the key id), so a sealed value
// cannot be moved to another row.
func (k *Keyring) Seal(plaintext, aad []byte) ([]byte, error) {
	return k.seal(k.Derive(PurposeAtRest), plaintext, aad)
}

// Open decrypts a value produced by Seal under the current or any old secret.
func (k *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	return k.open(sealed, aad, func(s []byte) []byte { return derive(s, PurposeAtRest) })
}

// SealBound is Seal under a key that also depends on bind, a value the
// server does not keep (such as the refresh token a successor pair belongs
// to): the database and the system secret together cannot open it, only
// whoever presents bind again.
func (k *Keyring) SealBound(plaintext, aad, bind []byte) ([]byte, error) {
	return k.seal(boundKey(k.secrets[0], bind), plaintext, aad)
}

// OpenBound decrypts a value produced by SealBound with the same bind.
func (k *Keyring) OpenBound(sealed, aad, bind []byte) ([]byte, error) {
	return k.open(sealed, aad, func(s []byte) []byte { return boundKey(s, bind) })
}

func boundKey(secret, bind []byte) []byte {
	m := hmac.New(sha256.New, derive(secret, PurposeBound))
	m.Write(bind)
	return m.Sum(nil)
}

func (k *Keyring) seal(key, plaintext, aad []byte) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
		return nil, fmt.Errorf("secret: nonce: %w", err)
	}
	out := append([]byte{sealVersion}, nonce...)
	return gcm.Seal(out, nonce, plaintext, aad), nil
}

func (k *Keyring) open(sealed, aad []byte, keyOf func(secret []byte) []byte) ([]byte, error) {
	if len(sealed) < 1 || sealed[0] != sealVersion {
		return nil, fmt.Errorf("secret: unknown sealed format")
	}
	for _, s := range k.secrets {
		gcm, err := newGCM(keyOf(s))
		if err != nil {
			return nil, err
		}
		body := sealed[1:]
		if len(body) < gcm.NonceSize() {
			return nil, fmt.Errorf("secret: sealed value too short")
		}
		pt, err := gcm.Open(nil, body[:gcm.NonceSize()], body[gcm.NonceSize():], aad)
		if err == nil {
			return pt, nil
		}
	}
	return nil, ErrDecrypt
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret: aes: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: gcm: %w", err)
	}
	return gcm, nil
}

const clientSecretPrefix = "hmac-sha256$"

// HashClientSecret returns the stored form of a client secret: an
// HMAC-SHA256 keyed by a sub-key of the system secret. Client secrets are
// server-generated 256-bit random values, so a fast keyed hash is as strong
// as a slow one against guessing, and costs ~1 µs instead of the tens of
// milliseconds of bcrypt on every token request.
func (k *Keyring) HashClientSecret(clientSecret string) string {
	return clientSecretPrefix + macB64(k.Derive(PurposeClientSecret), clientSecret)
}

// VerifyClientSecret reports whether clientSecret matches hash, trying the
// current and every old system secret, in constant time per candidate.
func (k *Keyring) VerifyClientSecret(clientSecret, hash string) bool {
	want, ok := strings.CutPrefix(hash, clientSecretPrefix)
	if !ok || clientSecret == "" {
		return false
	}
	// Check every candidate (no early return) so timing does not reveal
	// which system secret matched.
	match := 0
	for _, s := range k.secrets {
		got := macB64(derive(s, PurposeClientSecret), clientSecret)
		match |= subtle.ConstantTimeCompare([]byte(got), []byte(want))
	}
	return match == 1
}

// MACs returns the keyed hash of v under purpose with the current system
// secret first, then with each old one: the storage keys under which a
// value hashed before a rotation of SESAME_SECRET may be found.
func (k *Keyring) MACs(purpose, v string) []string {
	out := make([]string, 0, len(k.secrets))
	for _, s := range k.secrets {
		out = append(out, macB64(derive(s, purpose), v))
	}
	return out
}

func macB64(key []byte, msg string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// RandomToken returns n random bytes encoded base64url without padding.
func RandomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		return "", fmt.Errorf("secret: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// HashToken returns the storage key of a bearer value (session cookie,
// registration token, token signature): base64url(SHA-256(v)). These values
// carry ≥ 128 bits of entropy, so an unkeyed hash suffices and keeps lookups
// independent of SESAME_SECRET rotation.
func HashToken(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

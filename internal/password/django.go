package password

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"
)

// Django's password hashers (django.contrib.auth.hashers), verified
// natively so that users imported from a Django database
// (internal/importer/django) keep their passwords. Django stores
// "<algorithm>$<fields>"; Sesame stores the value verbatim and Verify
// dispatches on the algorithm. A Django hash always needs a rehash: the
// first successful sign-in replaces it with argon2id.
//
// Formats (Django 2.0 – 5.x):
//
//	pbkdf2_sha256$<iterations>$<salt>$<base64 hash>
//	pbkdf2_sha1$<iterations>$<salt>$<base64 hash>
//	argon2$argon2id$v=19$m=<KiB>,t=<n>,p=<n>$<b64 salt>$<b64 hash>   (also argon2i)
//	bcrypt_sha256$$2b$<cost>$<bcrypt of hex(sha256(password))>
//	bcrypt$$2b$<cost>$<bcrypt of password>
//	scrypt$<N>$<salt>$<r>$<p>$<base64 hash>
//	!<anything>   an unusable password (set_unusable_password): never matches
//
// Every comparison is constant-time (subtle.ConstantTimeCompare, or
// bcrypt's own). Every cost parameter a row can ask for is bounded, so a
// tampered database cannot make one sign-in burn minutes or gigabytes.

// ErrUnsupported is returned for a hash of an algorithm Sesame does not
// verify (Django's md5, sha1, unsalted_*, crypt, argon2 before v=19, or
// anything unknown). Such a user cannot sign in with a password until one
// is set again.
var ErrUnsupported = errors.New("password: unsupported hash algorithm")

// Django algorithm names Sesame verifies.
const (
	AlgPBKDF2SHA256 = "pbkdf2_sha256"
	AlgPBKDF2SHA1   = "pbkdf2_sha1"
	AlgArgon2       = "argon2"
	AlgBcryptSHA256 = "bcrypt_sha256"
	AlgBcrypt       = "bcrypt"
	AlgScrypt       = "scrypt"
	// AlgArgon2id is Sesame's own format ($argon2id$…).
	AlgArgon2id = "argon2id"
	// AlgUnusable is Django's unusable password ("!…").
	AlgUnusable = "unusable"
)

// Bounds on what a stored Django hash may ask for.
const (
	maxPBKDF2Iterations = 10_000_000
	maxBcryptCost       = 16
	maxScryptN          = 1 << 20
	maxScryptR          = 32
	maxScryptP          = 16
	maxScryptMemory     = 256 << 20 // bytes: 128·N·r·p (Django: 16 MiB)
)

// Inspect parses a stored hash without verifying anything and names its
// algorithm: AlgArgon2id for Sesame's own, a Django algorithm name, or
// AlgUnusable. err is ErrMalformed (for example a truncated hash) or
// ErrUnsupported (wrapped, naming the algorithm). The importer uses it to
// report each row.
func Inspect(encoded string) (alg string, err error) {
	if strings.HasPrefix(encoded, "$") {
		if _, err := decode(encoded); err != nil {
			return "", err
		}
		return AlgArgon2id, nil
	}
	if strings.HasPrefix(encoded, "!") {
		return AlgUnusable, nil
	}
	h, err := parseDjango(encoded)
	if err != nil {
		return "", err
	}
	return h.alg, nil
}

// djangoHash is one parsed Django hash.
type djangoHash struct {
	alg string
	// pbkdf2 and scrypt
	iterations int
	salt       string
	key        []byte
	// argon2 (d.p, d.salt, d.key) and its variant
	argon   decoded
	argon2i bool
	// bcrypt: the bcrypt string itself
	bcrypt []byte
	// scrypt
	n, r, p int
}

func parseDjango(encoded string) (djangoHash, error) {
	alg, rest, ok := strings.Cut(encoded, "$")
	if !ok || alg == "" {
		return djangoHash{}, ErrMalformed
	}
	switch alg {
	case AlgPBKDF2SHA256, AlgPBKDF2SHA1:
		return parsePBKDF2(alg, rest)
	case AlgArgon2:
		return parseArgon2(rest)
	case AlgBcryptSHA256, AlgBcrypt:
		return parseBcrypt(alg, rest)
	case AlgScrypt:
		return parseScrypt(rest)
	}
	return djangoHash{}, fmt.Errorf("%w %q", ErrUnsupported, printableAlg(alg))
}

// printableAlg bounds an unknown algorithm name for error messages and logs.
func printableAlg(alg string) string {
	if len(alg) > 32 {
		alg = alg[:32]
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '?'
	}, alg)
}

func parsePBKDF2(alg, rest string) (djangoHash, error) {
	parts := strings.Split(rest, "$")
	if len(parts) != 3 || parts[1] == "" {
		return djangoHash{}, fmt.Errorf("%w: %s needs iterations$salt$hash", ErrMalformed, alg)
	}
	iter, err := strconv.Atoi(parts[0])
	if err != nil || iter < 1 || iter > maxPBKDF2Iterations {
		return djangoHash{}, fmt.Errorf("%w: %s iterations", ErrMalformed, alg)
	}
	key, err := base64.StdEncoding.DecodeString(parts[2])
	want := sha256.Size
	if alg == AlgPBKDF2SHA1 {
		want = sha1.Size
	}
	if err != nil || len(key) != want {
		return djangoHash{}, fmt.Errorf("%w: %s hash (truncated?)", ErrMalformed, alg)
	}
	return djangoHash{alg: alg, iterations: iter, salt: parts[1], key: key}, nil
}

func parseArgon2(rest string) (djangoHash, error) {
	// rest is "argon2id$v=19$m=…,t=…,p=…$salt$hash": a PHC string without
	// its leading "$" (Django strips it when it prefixes "argon2").
	variant, _, _ := strings.Cut(rest, "$")
	var argon2i bool
	switch variant {
	case "argon2id":
	case "argon2i":
		argon2i = true
	default:
		return djangoHash{}, fmt.Errorf("%w %q", ErrUnsupported, "argon2/"+printableAlg(variant))
	}
	if parts := strings.Split(rest, "$"); len(parts) == 4 {
		// Django before 1.11 with argon2-cffi < 16: no v= field, which
		// is Argon2 version 1.0 (0x10); x/crypto computes only 1.3.
		return djangoHash{}, fmt.Errorf("%w %q", ErrUnsupported, "argon2 version 1.0")
	}
	d, err := decodeVariant("$"+rest, variant)
	if err != nil {
		return djangoHash{}, err
	}
	return djangoHash{alg: AlgArgon2, argon: d, argon2i: argon2i}, nil
}

func parseBcrypt(alg, rest string) (djangoHash, error) {
	// Django writes "bcrypt$" + the 60-character bcrypt string "$2b$12$…".
	if len(rest) != 60 || !strings.HasPrefix(rest, "$2") {
		return djangoHash{}, fmt.Errorf("%w: %s hash (truncated?)", ErrMalformed, alg)
	}
	cost, err := bcrypt.Cost([]byte(rest))
	if err != nil {
		return djangoHash{}, fmt.Errorf("%w: %s: %v", ErrMalformed, alg, err)
	}
	if cost > maxBcryptCost {
		return djangoHash{}, fmt.Errorf("%w: %s cost %d out of range", ErrMalformed, alg, cost)
	}
	return djangoHash{alg: alg, bcrypt: []byte(rest)}, nil
}

func parseScrypt(rest string) (djangoHash, error) {
	parts := strings.Split(rest, "$")
	if len(parts) != 5 || parts[1] == "" {
		return djangoHash{}, fmt.Errorf("%w: scrypt needs N$salt$r$p$hash", ErrMalformed)
	}
	n, errN := strconv.Atoi(parts[0])
	r, errR := strconv.Atoi(parts[2])
	p, errP := strconv.Atoi(parts[3])
	if errN != nil || errR != nil || errP != nil ||
		n < 2 || n > maxScryptN || n&(n-1) != 0 || r < 1 || r > maxScryptR || p < 1 || p > maxScryptP ||
		128*n*r*p > maxScryptMemory {
		return djangoHash{}, fmt.Errorf("%w: scrypt parameters out of range", ErrMalformed)
	}
	key, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(key) < 16 || len(key) > 128 {
		return djangoHash{}, fmt.Errorf("%w: scrypt hash (truncated?)", ErrMalformed)
	}
	return djangoHash{alg: AlgScrypt, salt: parts[1], n: n, r: r, p: p, key: key}, nil
}

// verifyDjango checks pw against a Django hash (or an unusable "!…"
// password, which costs a dummy computation and never matches).
func verifyDjango(pw, encoded string) (bool, error) {
	if strings.HasPrefix(encoded, "!") {
		VerifyDummy(pw, DefaultParams)
		return false, nil
	}
	h, err := parseDjango(encoded)
	if err != nil {
		return false, err
	}
	switch h.alg {
	case AlgPBKDF2SHA256, AlgPBKDF2SHA1:
		fn := sha256.New
		if h.alg == AlgPBKDF2SHA1 {
			fn = func() hash.Hash { return sha1.New() }
		}
		var got []byte
		withSlot(func() { got, err = pbkdf2.Key(fn, pw, []byte(h.salt), h.iterations, len(h.key)) })
		if err != nil {
			return false, fmt.Errorf("password: %s: %w", h.alg, err)
		}
		return subtle.ConstantTimeCompare(got, h.key) == 1, nil
	case AlgArgon2:
		d := h.argon
		var got []byte
		withSlot(func() {
			if h.argon2i {
				got = argon2.Key([]byte(pw), d.salt, d.p.Iterations, d.p.MemoryKiB, d.p.Parallelism, uint32(len(d.key)))
			} else {
				got = argon2.IDKey([]byte(pw), d.salt, d.p.Iterations, d.p.MemoryKiB, d.p.Parallelism, uint32(len(d.key)))
			}
		})
		return subtle.ConstantTimeCompare(got, d.key) == 1, nil
	case AlgBcryptSHA256, AlgBcrypt:
		secret := []byte(pw)
		if h.alg == AlgBcryptSHA256 {
			sum := sha256.Sum256(secret)
			secret = []byte(hex.EncodeToString(sum[:]))
		} else if len(secret) > 72 {
			// bcrypt reads at most 72 bytes; Django's bcrypt (the
			// Python package) truncated silently, x/crypto refuses.
			secret = secret[:72]
		}
		var cmp error
		withSlot(func() { cmp = bcrypt.CompareHashAndPassword(h.bcrypt, secret) })
		switch {
		case cmp == nil:
			return true, nil
		case errors.Is(cmp, bcrypt.ErrMismatchedHashAndPassword):
			return false, nil
		}
		return false, fmt.Errorf("%w: %s: %v", ErrMalformed, h.alg, cmp)
	case AlgScrypt:
		var got []byte
		withSlot(func() { got, err = scrypt.Key([]byte(pw), []byte(h.salt), h.n, h.r, h.p, len(h.key)) })
		if err != nil {
			return false, fmt.Errorf("password: scrypt: %w", err)
		}
		return subtle.ConstantTimeCompare(got, h.key) == 1, nil
	}
	return false, fmt.Errorf("%w %q", ErrUnsupported, h.alg)
}

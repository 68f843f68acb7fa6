package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id cost parameters.
type Params struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
}

// DefaultParams is the OWASP Password Storage Cheat Sheet minimum for
// argon2id: 19 MiB, 2 iterations, 1 lane.
var DefaultParams = Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1}

const (
	saltLen = 16
	keyLen  = 32
	// MaxLength bounds the input so a multi-megabyte "password" cannot be
	// used to burn CPU; argon2 itself accepts any length.
	MaxLength = 1024
)

var (
	// ErrEmpty is returned for an empty password.
	ErrEmpty = errors.New("password: must not be empty")
	// ErrTooLong is returned for a password over MaxLength bytes.
	ErrTooLong = fmt.Errorf("password: must be at most %d bytes", MaxLength)
	// ErrMalformed is returned for a stored hash that is not an argon2id PHC string.
	ErrMalformed = errors.New("password: malformed hash")
)

// slots bounds concurrent argon2id computations to the number of CPUs.
// Each one takes 19 MiB and a core for tens of milliseconds; unbounded, 16
// concurrent logins on 2 cores all finish late together (and memory grows
// with the queue), bounded they finish one after another at full speed and
// the others wait their turn, so throughput stays flat and latency grows
// only with the queue (docs/benchmarks.md).
var slots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))

// inFlight and peakInFlight count computations holding a slot (tests).
var inFlight, peakInFlight atomic.Int64

// idKey is argon2.IDKey run while holding one of the slots.
func idKey(pw, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	var key []byte
	withSlot(func() { key = argon2.IDKey(pw, salt, time, memory, threads, keyLen) })
	return key
}

// withSlot runs one password computation (argon2, PBKDF2, bcrypt, scrypt)
// while holding one of the slots.
func withSlot(fn func()) {
	slots <- struct{}{}
	defer func() { <-slots }()
	n := inFlight.Add(1)
	defer inFlight.Add(-1)
	for {
		peak := peakInFlight.Load()
		if n <= peak || peakInFlight.CompareAndSwap(peak, n) {
			break
		}
	}
	fn()
}

func checkInput(pw string) error {
	switch {
	case pw == "":
		return ErrEmpty
	case len(pw) > MaxLength:
		return ErrTooLong
	}
	return nil
}

func (p Params) valid() error {
	if p.MemoryKiB < 8*uint32(p.Parallelism) || p.Iterations < 1 || p.Parallelism < 1 {
		return fmt.Errorf("password: invalid argon2id parameters m=%d t=%d p=%d", p.MemoryKiB, p.Iterations, p.Parallelism)
	}
	return nil
}

// Hash returns the PHC-encoded argon2id hash of pw with a fresh 16-byte salt.
func Hash(pw string, p Params) (string, error) {
	if err := checkInput(pw); err != nil {
		return "", err
	}
	if err := p.valid(); err != nil {
		return "", err
	}
	salt := make([]byte, saltLen)
	if _, err := io.ReadFull(rand.Reader, salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	key := idKey([]byte(pw), salt, p.Iterations, p.MemoryKiB, p.Parallelism, keyLen)
	return encode(p, salt, key), nil
}

func encode(p Params, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Iterations, p.Parallelism, b64.EncodeToString(salt), b64.EncodeToString(key))
}

type decoded struct {
	p    Params
	salt []byte
	key  []byte
}

// Upper bounds on what a stored hash may ask for, so a tampered row cannot
// make one login allocate gigabytes.
const (
	maxMemoryKiB  = 4 << 20
	maxIterations = 64
)

func decode(encoded string) (decoded, error) { return decodeVariant(encoded, "argon2id") }

// decodeVariant decodes a PHC string of the argon2 variant ("argon2id",
// or "argon2i" for Django hashes).
func decodeVariant(encoded, variant string) (decoded, error) {
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != variant {
		return decoded{}, ErrMalformed
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return decoded{}, fmt.Errorf("%w: unsupported version %q", ErrMalformed, parts[2])
	}
	var d decoded
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return decoded{}, ErrMalformed
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return decoded{}, ErrMalformed
		}
		switch k {
		case "m":
			d.p.MemoryKiB = uint32(n)
		case "t":
			d.p.Iterations = uint32(n)
		case "p":
			if n > 255 {
				return decoded{}, ErrMalformed
			}
			d.p.Parallelism = uint8(n)
		default:
			return decoded{}, ErrMalformed
		}
	}
	if d.p.valid() != nil || d.p.MemoryKiB > maxMemoryKiB || d.p.Iterations > maxIterations {
		return decoded{}, fmt.Errorf("%w: parameters out of range", ErrMalformed)
	}
	var err error
	if d.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(d.salt) < 8 {
		return decoded{}, fmt.Errorf("%w: salt", ErrMalformed)
	}
	if d.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(d.key) < 16 || len(d.key) > 64 {
		return decoded{}, fmt.Errorf("%w: key", ErrMalformed)
	}
	return d, nil
}

// Verify reports whether pw matches encoded, comparing in constant time.
// needsRehash is true when the hash was made with parameters (or salt/key
// sizes) other than DefaultParams, or is a Django hash (django.go), which
// the first successful sign-in replaces with argon2id; callers that
// configure other parameters use NeedsRehash with their own. err is set
// only for a malformed hash (ErrMalformed), an algorithm Sesame does not
// verify (ErrUnsupported) or an unacceptable input, never for a plain
// mismatch. An unusable Django password ("!…") is a mismatch.
func Verify(pw, encoded string) (ok bool, needsRehash bool, err error) {
	if err := checkInput(pw); err != nil {
		return false, false, err
	}
	if !strings.HasPrefix(encoded, "$") {
		ok, err := verifyDjango(pw, encoded)
		return ok, ok, err
	}
	d, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	got := idKey([]byte(pw), d.salt, d.p.Iterations, d.p.MemoryKiB, d.p.Parallelism, uint32(len(d.key)))
	if subtle.ConstantTimeCompare(got, d.key) != 1 {
		return false, false, nil
	}
	return true, d.differs(DefaultParams), nil
}

func (d decoded) differs(p Params) bool {
	return d.p != p || len(d.salt) != saltLen || len(d.key) != keyLen
}

// NeedsRehash reports whether encoded was made with parameters other than p
// (or is malformed), so a successful login should store a new hash.
func NeedsRehash(encoded string, p Params) bool {
	d, err := decode(encoded)
	if err != nil {
		return true
	}
	return d.differs(p)
}

// dummySalt is fixed: VerifyDummy only has to cost what a real verify costs.
var dummySalt = make([]byte, saltLen)

// VerifyDummy spends the time of a real Verify with parameters p and
// always fails. Call it when the user does not exist (or cannot log in) so
// that response time does not reveal which usernames are registered.
func VerifyDummy(pw string, p Params) {
	if p.valid() != nil {
		p = DefaultParams
	}
	if len(pw) > MaxLength {
		pw = pw[:MaxLength]
	}
	key := idKey([]byte(pw), dummySalt, p.Iterations, p.MemoryKiB, p.Parallelism, keyLen)
	// Compare like Verify does so the two paths do the same work.
	subtle.ConstantTimeCompare(key, dummySalt)
}

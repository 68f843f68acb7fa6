package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"time"

	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
)

// The device authorization grant (RFC 8628): what the token endpoint
// (package oauth) and the verification page (package web) share. This
// file owns the user code — its alphabet, its normal form, its keyed
// hash — and the one guarded check of a code a person typed.

// UserCodeAlphabet is RFC 8628 §6.1's example: 20 consonants, no vowels
// (no words), nothing that looks like a digit. 8 characters give 20^8 ≈
// 2^34.6 codes; that is enough only because guesses are bounded
// (Devices.Find) and a code lives minutes.
const UserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// UserCodeLength is the number of alphabet characters of a user code,
// shown as two groups of four separated by a dash (BCDF-GHJK).
const UserCodeLength = 8

// DeviceGrantType is the grant type of the device flow.
const DeviceGrantType = "urn:ietf:params:oauth:grant-type:device_code"

// NewUserCode returns a random user code in display form (BCDF-GHJK).
func NewUserCode() (string, error) {
	var b strings.Builder
	max := big.NewInt(int64(len(UserCodeAlphabet)))
	for i := range UserCodeLength {
		if i == UserCodeLength/2 {
			b.WriteByte('-')
		}
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("app: user code: %w", err)
		}
		b.WriteByte(UserCodeAlphabet[n.Int64()])
	}
	return b.String(), nil
}

// NormalizeUserCode turns what a person typed into the display form:
// case, spaces and dashes do not matter (RFC 8628 §6.1). ok is false when
// it cannot be a user code at all (then no lookup and no guess is spent).
func NormalizeUserCode(typed string) (code string, ok bool) {
	if len(typed) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(typed) {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			continue
		case r < 128 && strings.IndexByte(UserCodeAlphabet, byte(r)) >= 0:
			if b.Len() == UserCodeLength/2 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if b.Len() != UserCodeLength+1 {
		return "", false
	}
	return b.String(), true
}

// UserCodeHash is the storage key of a user code in display form: keyed
// with the system secret, since 35 bits are no protection against an
// offline search of a leaked table.
func UserCodeHash(ring *secret.Keyring, code string) string {
	return ring.MACs(secret.PurposeUserCode, code)[0]
}

// DeviceCodeHash is the storage key of a device code (≥ 256 random bits,
// so an unkeyed hash suffices, as for every bearer value).
func DeviceCodeHash(deviceCode string) string { return secret.HashToken(deviceCode) }

// ErrUnknownUserCode: the code is not one of a pending, unexpired device
// request (mistyped, expired, already used). The page says so in one way
// whatever the reason.
var ErrUnknownUserCode = errors.New("app: unknown user code")

// ErrUserCodeLocked: too many wrong codes from this address; LockedUntil
// says until when.
type ErrUserCodeLocked struct{ LockedUntil time.Time }

func (e *ErrUserCodeLocked) Error() string { return "app: too many wrong user codes" }

// Audit event types of the device flow.
const (
	AuditDeviceApproved = "device.approved"
	AuditDeviceDenied   = "device.denied"
)

// Devices runs the verification side of the device flow.
type Devices struct {
	store deviceStore
	ring  *secret.Keyring
	guard *throttle.Guard // nil: no brute-force guard (tests only)
	log   *slog.Logger
	now   func() time.Time
}

// NewDevices builds the device use cases. guard bounds wrong codes per
// address; now may be nil.
func NewDevices(store deviceStore, ring *secret.Keyring, guard *throttle.Guard, log *slog.Logger, now func() time.Time) *Devices {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Devices{store: store, ring: ring, guard: guard, log: log, now: now}
}

// DeviceRequest is a pending device request as the verification page
// shows it.
type DeviceRequest struct {
	UserCode string // display form
	Client   storage.Client
	Scopes   []string
	Audience []string
}

// Find looks up the pending request of a typed user code. Every wrong
// code counts against the address (throttle.DeviceKey and the per-IP
// limit); while the address is locked nothing is looked up and
// *ErrUserCodeLocked is returned. A code that cannot be a user code is
// ErrUnknownUserCode without counting (a typo of length is no guess).
func (d *Devices) Find(ctx context.Context, typed, ip, userAgent string) (DeviceRequest, error) {
	code, ok := NormalizeUserCode(typed)
	if !ok {
		return DeviceRequest{}, ErrUnknownUserCode
	}
	if d.guard != nil {
		until, locked, err := d.guard.Check(ctx, throttle.DeviceKey(ip), throttle.IPKey(ip))
		if err != nil {
			return DeviceRequest{}, fmt.Errorf("app: device code guard: %w", err)
		}
		if locked {
			d.guard.Refused(ctx, throttle.DeviceKey(ip))
			return DeviceRequest{}, &ErrUserCodeLocked{LockedUntil: until}
		}
	}
	g, err := d.store.GetDeviceGrantByUserCode(ctx, UserCodeHash(d.ring, code))
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return DeviceRequest{}, fmt.Errorf("app: find device request: %w", err)
	}
	if err != nil || g.State != storage.DevicePending || !d.now().Before(g.ExpiresAt) {
		if d.guard != nil {
			if ferr := d.guard.Fail(ctx, ip, userAgent, throttle.DeviceKey(ip)); ferr != nil {
				d.log.WarnContext(ctx, "app: count a wrong user code", "err", ferr)
			}
		}
		return DeviceRequest{}, ErrUnknownUserCode
	}
	c, err := d.store.GetClient(ctx, g.ClientID)
	if errors.Is(err, storage.ErrNotFound) {
		return DeviceRequest{}, ErrUnknownUserCode // the client was deleted since
	} else if err != nil {
		return DeviceRequest{}, fmt.Errorf("app: find device request: client: %w", err)
	}
	return DeviceRequest{UserCode: code, Client: c, Scopes: g.Scopes, Audience: g.Audience}, nil
}

// Decide records the signed-in user's decision on the request of a user
// code that Find returned: allow grants the requested scopes. A second
// decision, or one after expiry, is ErrUnknownUserCode. The audit row is
// written in the same transaction.
func (d *Devices) Decide(ctx context.Context, code, userID, sessionID string, allow bool, ip, userAgent string) error {
	code, ok := NormalizeUserCode(code)
	if !ok {
		return ErrUnknownUserCode
	}
	hash := UserCodeHash(d.ring, code)
	return storage.InTx(ctx, d.store, func(ctx context.Context) error {
		g, err := d.store.GetDeviceGrantByUserCode(ctx, hash)
		if errors.Is(err, storage.ErrNotFound) {
			return ErrUnknownUserCode
		} else if err != nil {
			return fmt.Errorf("app: decide device request: %w", err)
		}
		dec := storage.DeviceDecision{State: storage.DeviceDenied, UserID: userID, SessionID: sessionID, At: d.now().UTC()}
		typ := AuditDeviceDenied
		if allow {
			dec.State, dec.GrantedScopes, typ = storage.DeviceApproved, g.Scopes, AuditDeviceApproved
		}
		if _, err := d.store.DecideDeviceGrant(ctx, hash, dec); errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) {
			return ErrUnknownUserCode
		} else if err != nil {
			return fmt.Errorf("app: decide device request: %w", err)
		}
		err = d.store.AppendAudit(ctx, storage.AuditEvent{At: dec.At, Type: typ, Actor: "user:" + userID,
			ClientID: g.ClientID, UserID: userID, IP: ip, UserAgent: truncate(userAgent, 256), Outcome: "success",
			Details: map[string]string{"scope": strings.Join(dec.GrantedScopes, " ")}})
		if err != nil {
			return fmt.Errorf("app: audit %s: %w", typ, err)
		}
		return nil
	})
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

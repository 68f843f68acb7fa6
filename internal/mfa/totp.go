package mfa

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// The TOTP profile (RFC 6238 §4 defaults as authenticator apps expect).
const (
	TOTPPeriod = 30 // seconds per step
	TOTPDigits = 6
	// TOTPSkew is how many steps either side of now are accepted.
	TOTPSkew = 1
	// totpSecretBytes: RFC 4226 §4 recommends 160 bits for HMAC-SHA-1.
	totpSecretBytes = 20
	// MaxCodeLength bounds a submitted code before anything is done with it.
	MaxCodeLength = 64
)

// Errors of a code check. ErrCodeUsed is a correct code that was already
// accepted once (a replay); callers count it as a failure like a wrong one.
var (
	ErrWrongCode = errors.New("mfa: wrong code")
	ErrCodeUsed  = errors.New("mfa: code already used")
	// ErrNoFactor: the user has no factor of the kind asked for.
	ErrNoFactor = errors.New("mfa: no such factor")
)

// TOTPEnrolment is what the enrolment page shows: the secret as text
// (base32, for typing into an app), the otpauth:// URI and a QR code of it
// as a data: URI of a PNG.
type TOTPEnrolment struct {
	FactorID string
	Secret   string
	URI      string
	QR       string
}

// Step is the RFC 6238 time step of t.
func Step(t time.Time) int64 { return t.Unix() / TOTPPeriod }

// TOTPCode returns the code of secret (base32) for step: what an
// authenticator app shows during that step.
func TOTPCode(secretB32 string, step int64) (string, error) {
	code, err := hotp.GenerateCodeCustom(secretB32, uint64(step), hotp.ValidateOpts{
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return "", fmt.Errorf("mfa: totp code: %w", err)
	}
	return code, nil
}

// MatchTOTP returns the step in [now-skew, now+skew] whose code is code,
// comparing every candidate in constant time. Steps at or before after
// (already used) are not candidates. ok is false when none matches.
func MatchTOTP(secretB32, code string, now time.Time, after int64) (step int64, ok bool) {
	code = normalizeDigits(code)
	if len(code) != TOTPDigits {
		return 0, false
	}
	cur := Step(now)
	matched := int64(0)
	for s := cur - TOTPSkew; s <= cur+TOTPSkew; s++ {
		want, err := TOTPCode(secretB32, s)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && s > after && matched == 0 {
			matched = s
		}
	}
	return matched, matched != 0
}

// normalizeDigits drops the spaces and dashes people type into a code
// ("123 456").
func normalizeDigits(code string) string {
	if len(code) > MaxCodeLength {
		return ""
	}
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, code)
}

// b32 is the secret's text form (RFC 4648 base32, unpadded, as in otpauth URIs).
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func totpAAD(userID, factorID string) []byte {
	return []byte("sesame/totp\x00" + userID + "\x00" + factorID)
}

// Store is what the service needs: factors, and one-time values that make
// each WebAuthn challenge single use.
type Store interface {
	storage.FactorStore
	ClaimNonce(ctx context.Context, ns, value string, exp time.Time) error
}

// Service makes, stores and checks factors.
type Service struct {
	store  Store
	ring   *secret.Keyring
	issuer string // the name shown in authenticator apps
	now    func() time.Time
	wa     *webauthn.WebAuthn // nil: passkeys off (WithPasskeys)
}

// New builds the service. issuer is the label authenticator apps show
// beside the account (the issuer's host); now may be nil (time.Now).
func New(store Store, ring *secret.Keyring, issuer string, now func() time.Time) (*Service, error) {
	if store == nil || ring == nil {
		return nil, errors.New("mfa: store and keyring are required")
	}
	if issuer == "" {
		return nil, errors.New("mfa: issuer name is required")
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, ring: ring, issuer: issuer, now: now}, nil
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// BeginTOTP starts a TOTP enrolment for userID (account is the name the
// app shows, the username): any enrolment the user left unfinished is
// dropped and a new unconfirmed factor with a fresh secret is stored.
func (s *Service) BeginTOTP(ctx context.Context, userID, account string) (TOTPEnrolment, error) {
	fs, err := s.store.ListFactors(ctx, userID)
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("mfa: list factors: %w", err)
	}
	for _, f := range fs {
		if f.Kind == storage.FactorTOTP && !f.Confirmed {
			if err := s.store.DeleteFactor(ctx, userID, f.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return TOTPEnrolment{}, fmt.Errorf("mfa: drop unfinished enrolment: %w", err)
			}
		}
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: s.issuer, AccountName: account, Period: TOTPPeriod,
		SecretSize: totpSecretBytes, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("mfa: generate totp key: %w", err)
	}
	id, err := secret.RandomToken(16)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	sealed, err := s.ring.Seal([]byte(key.Secret()), totpAAD(userID, id))
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("mfa: seal totp secret: %w", err)
	}
	f := storage.Factor{ID: id, UserID: userID, Kind: storage.FactorTOTP, Secret: sealed, CreatedAt: s.clock()}
	if err := s.store.CreateFactor(ctx, f); err != nil {
		return TOTPEnrolment{}, fmt.Errorf("mfa: store totp factor: %w", err)
	}
	return enrolment(id, key)
}

// PendingTOTP shows an unfinished enrolment again (after a wrong code).
func (s *Service) PendingTOTP(ctx context.Context, userID, account, factorID string) (TOTPEnrolment, error) {
	f, sec, err := s.openTOTP(ctx, userID, factorID)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	if f.Confirmed {
		return TOTPEnrolment{}, ErrNoFactor
	}
	raw, err := b32.DecodeString(sec)
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("mfa: stored totp secret: %w", err)
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: s.issuer, AccountName: account, Secret: raw, Period: TOTPPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("mfa: rebuild totp key: %w", err)
	}
	return enrolment(factorID, key)
}

// ConfirmTOTP finishes an enrolment with a code from the app: from then on
// the factor counts. ErrWrongCode if the code does not match.
func (s *Service) ConfirmTOTP(ctx context.Context, userID, factorID, code string) error {
	f, sec, err := s.openTOTP(ctx, userID, factorID)
	if err != nil {
		return err
	}
	if f.Confirmed {
		return ErrNoFactor
	}
	step, ok := MatchTOTP(sec, code, s.now(), 0)
	if !ok {
		return ErrWrongCode
	}
	err = s.store.ConfirmFactor(ctx, userID, factorID, step, s.clock())
	switch {
	case errors.Is(err, storage.ErrConflict):
		return ErrCodeUsed // a replayed confirmation form
	case errors.Is(err, storage.ErrNotFound):
		return ErrNoFactor
	case err != nil:
		return fmt.Errorf("mfa: confirm totp: %w", err)
	}
	return nil
}

// VerifyTOTP checks a code against the user's confirmed TOTP factor and
// records its step, so the same code is refused afterwards. ErrNoFactor if
// the user has none, ErrWrongCode or ErrCodeUsed on failure.
func (s *Service) VerifyTOTP(ctx context.Context, userID, code string) (storage.Factor, error) {
	fs, err := s.store.ListFactors(ctx, userID)
	if err != nil {
		return storage.Factor{}, fmt.Errorf("mfa: list factors: %w", err)
	}
	found := false
	for _, f := range fs {
		if f.Kind != storage.FactorTOTP || !f.Confirmed {
			continue
		}
		found = true
		sec, err := s.ring.Open(f.Secret, totpAAD(userID, f.ID))
		if err != nil {
			return storage.Factor{}, fmt.Errorf("mfa: open totp secret: %w", err)
		}
		step, ok := MatchTOTP(string(sec), code, s.now(), 0)
		if !ok {
			continue
		}
		if step <= f.Counter {
			return storage.Factor{}, ErrCodeUsed
		}
		err = s.store.AdvanceFactorCounter(ctx, f.ID, step, s.clock())
		if errors.Is(err, storage.ErrConflict) {
			return storage.Factor{}, ErrCodeUsed // a concurrent use won
		}
		if err != nil {
			return storage.Factor{}, fmt.Errorf("mfa: record totp use: %w", err)
		}
		f.Counter = step
		return f, nil
	}
	if !found {
		return storage.Factor{}, ErrNoFactor
	}
	return storage.Factor{}, ErrWrongCode
}

func (s *Service) openTOTP(ctx context.Context, userID, factorID string) (storage.Factor, string, error) {
	f, err := s.store.GetFactor(ctx, factorID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && (f.UserID != userID || f.Kind != storage.FactorTOTP)) {
		return storage.Factor{}, "", ErrNoFactor
	}
	if err != nil {
		return storage.Factor{}, "", fmt.Errorf("mfa: load factor: %w", err)
	}
	sec, err := s.ring.Open(f.Secret, totpAAD(userID, f.ID))
	if err != nil {
		return storage.Factor{}, "", fmt.Errorf("mfa: open totp secret: %w", err)
	}
	return f, string(sec), nil
}

func enrolment(id string, key *otp.Key) (TOTPEnrolment, error) {
	img, err := key.Image(240, 240)
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("mfa: qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return TOTPEnrolment{}, fmt.Errorf("mfa: qr png: %w", err)
	}
	return TOTPEnrolment{
		FactorID: id, Secret: key.Secret(), URI: key.URL(),
		QR: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()),
	}, nil
}

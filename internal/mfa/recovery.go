package mfa

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// RecoveryCodeCount is how many recovery codes a user gets at a time.
const RecoveryCodeCount = 10

// recoveryAlphabet has 32 letters and digits without the look-alikes
// o, 1, l and i, so a code read off paper is typed right (32 symbols: a
// random byte maps to one without bias); 10 of them are 50
// bits.
const recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz023456789"

const recoveryLength = 10

// NewRecoveryCodes replaces the user's recovery codes with
// RecoveryCodeCount new ones and returns them, formatted "abcde-fghjk":
// the only time they exist in clear.
func (s *Service) NewRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	codes := make([]string, RecoveryCodeCount)
	hashes := make([]string, RecoveryCodeCount)
	for i := range codes {
		c, err := randomCode()
		if err != nil {
			return nil, err
		}
		codes[i] = c[:5] + "-" + c[5:]
		hashes[i] = s.ring.MACs(secret.PurposeRecoveryCode, c)[0]
	}
	if err := s.store.ReplaceRecoveryCodes(ctx, userID, hashes, s.clock()); err != nil {
		return nil, fmt.Errorf("mfa: store recovery codes: %w", err)
	}
	return codes, nil
}

// UseRecoveryCode spends one of the user's recovery codes; ErrWrongCode if
// it is not one of them or was used already.
func (s *Service) UseRecoveryCode(ctx context.Context, userID, code string) error {
	c := normalizeRecovery(code)
	if len(c) != recoveryLength {
		return ErrWrongCode
	}
	// A code hashed before a rotation of SESAME_SECRET is stored under an
	// old secret's key: try each.
	for _, h := range s.ring.MACs(secret.PurposeRecoveryCode, c) {
		err := s.store.UseRecoveryCode(ctx, userID, h, s.clock())
		if err == nil {
			return nil
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("mfa: use recovery code: %w", err)
		}
	}
	return ErrWrongCode
}

// RecoveryCodesLeft counts the user's unused recovery codes.
func (s *Service) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	n, err := s.store.CountRecoveryCodes(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("mfa: count recovery codes: %w", err)
	}
	return n, nil
}

// LooksLikeRecoveryCode tells a recovery code from a TOTP code on the one
// `code` field of the second-factor page.
func LooksLikeRecoveryCode(code string) bool {
	return len(normalizeRecovery(code)) == recoveryLength
}

func normalizeRecovery(code string) string {
	if len(code) > MaxCodeLength {
		return ""
	}
	return strings.ToLower(normalizeDigits(code))
}

func randomCode() (string, error) {
	b := make([]byte, recoveryLength)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("mfa: random: %w", err)
	}
	out := make([]byte, recoveryLength)
	for i, v := range b {
		out[i] = recoveryAlphabet[int(v)%len(recoveryAlphabet)]
	}
	return string(out), nil
}

package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/sesameauth/sesame/internal/mfa"
	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
)

// Authentication context values (SPEC part two "Second factors and
// passkeys"). amr values are RFC 8176's.
const (
	ACRMFA      = "urn:sesame:acr:mfa" // two factors, or a user-verified passkey
	ACRPassword = "urn:sesame:acr:pwd" // one factor
	AMRPassword = "pwd"
	AMROTP      = "otp" // a TOTP or a recovery code
	AMRHardware = "hwk" // a passkey
	AMRMFA      = "mfa"
)

// ACRValuesSupported is what discovery lists as acr_values_supported.
var ACRValuesSupported = []string{ACRPassword, ACRMFA}

// Audit event types of second factors.
const (
	AuditMFAEnrolled      = "mfa.enrolled"
	AuditMFARemoved       = "mfa.removed"
	AuditMFAUsed          = "mfa.used"
	AuditMFAReset         = "mfa.reset"
	AuditMFARecoveryCodes = "mfa.recovery_codes_generated"
)

// ErrInvalidCode is a second-factor code that was wrong, already used, or
// given by a user without a factor; errors.Is(err, mfa.ErrCodeUsed) tells a
// replay apart for the message shown.
var ErrInvalidCode = errors.New("invalid second-factor code")

// HasMFA reports whether a sign-in's amr shows two factors.
func HasMFA(amr []string) bool { return slices.Contains(amr, AMRMFA) }

// ACRFor is the acr of a sign-in with these amr values.
func ACRFor(amr []string) string {
	if HasMFA(amr) {
		return ACRMFA
	}
	return ACRPassword
}

// WithFactor is amr after one more factor, method, was checked: it gains
// method and, now that two different factors were used, mfa.
func WithFactor(amr []string, method string) []string {
	out := slices.Clone(amr)
	if !slices.Contains(out, method) {
		out = append(out, method)
	}
	if len(out) >= 2 && !slices.Contains(out, AMRMFA) {
		out = append(out, AMRMFA)
	}
	return out
}

// MFAPolicy decides when an authorization needs two factors.
type MFAPolicy struct {
	// Required is SESAME_MFA=required: every sign-in.
	Required bool
}

// Needed reports whether an authorization for client with these
// acr_values (OIDC Core §3.1.2.1, space-separated) needs two factors.
func (p MFAPolicy) Needed(c storage.Client, acrValues string) bool {
	return p.Required || c.RequireMFA || slices.Contains(strings.Fields(acrValues), ACRMFA)
}

// FactorView is what is shown of a factor (account page, `users get
// --json`, the admin API): never its secret.
type FactorView struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`
	Name       string     `json:"name,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

func viewFactor(f storage.Factor) FactorView {
	return FactorView{ID: f.ID, Kind: string(f.Kind), Name: f.Name, CreatedAt: f.CreatedAt, LastUsedAt: f.LastUsedAt}
}

// factorStore is what Factors needs from the store.
type factorStore interface {
	storage.FactorStore
	AppendAudit(ctx context.Context, e storage.AuditEvent) error
}

// Factors is the one place a second factor is checked, enrolled or
// removed: behind the brute-force guard, audited.
type Factors struct {
	store     factorStore
	mfa       *mfa.Service
	passwords *Passwords
	guard     *throttle.Guard // nil: no brute-force protection
	log       *slog.Logger
	Policy    MFAPolicy
}

// NewFactors builds the second-factor use cases. guard and logger may be
// nil.
func NewFactors(store factorStore, m *mfa.Service, passwords *Passwords, guard *throttle.Guard, policy MFAPolicy, logger *slog.Logger) (*Factors, error) {
	if store == nil || m == nil || passwords == nil {
		return nil, errors.New("app: Factors needs a store, the mfa service and the password check")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Factors{store: store, mfa: m, passwords: passwords, guard: guard, log: logger, Policy: policy}, nil
}

// MFA is the ceremony service (tickets, enrolment data for pages).
func (f *Factors) MFA() *mfa.Service { return f.mfa }

// Client is who acts, for the audit trail.
type Client struct {
	IP, UserAgent string
}

// Confirmed lists the user's factors that count (enrolments in progress
// do not).
func (f *Factors) Confirmed(ctx context.Context, userID string) ([]storage.Factor, error) {
	fs, err := f.store.ListFactors(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list factors: %w", err)
	}
	out := fs[:0]
	for _, x := range fs {
		if x.Confirmed {
			out = append(out, x)
		}
	}
	return out, nil
}

// HasFactor reports whether the user has a confirmed second factor.
func (f *Factors) HasFactor(ctx context.Context, userID string) (bool, error) {
	fs, err := f.Confirmed(ctx, userID)
	return len(fs) > 0, err
}

// Views lists the user's confirmed factors for display and how many
// recovery codes are left.
func (f *Factors) Views(ctx context.Context, userID string) ([]FactorView, int, error) {
	fs, err := f.Confirmed(ctx, userID)
	if err != nil {
		return nil, 0, err
	}
	out := make([]FactorView, 0, len(fs))
	for _, x := range fs {
		out = append(out, viewFactor(x))
	}
	n, err := f.mfa.RecoveryCodesLeft(ctx, userID)
	if err != nil {
		return nil, 0, err
	}
	return out, n, nil
}

// BeginTOTP starts (or restarts) a TOTP enrolment.
func (f *Factors) BeginTOTP(ctx context.Context, u storage.User) (mfa.TOTPEnrolment, error) {
	return f.mfa.BeginTOTP(ctx, u.ID, u.Username)
}

// PendingTOTP shows an unfinished enrolment again.
func (f *Factors) PendingTOTP(ctx context.Context, u storage.User, factorID string) (mfa.TOTPEnrolment, error) {
	return f.mfa.PendingTOTP(ctx, u.ID, u.Username, factorID)
}

// ConfirmTOTP finishes an enrolment with a code from the app (audited).
// A wrong code is ErrInvalidCode; the enrolment stays pending.
func (f *Factors) ConfirmTOTP(ctx context.Context, u storage.User, factorID, code string, c Client) error {
	err := f.mfa.ConfirmTOTP(ctx, u.ID, factorID, code)
	switch {
	case errors.Is(err, mfa.ErrWrongCode), errors.Is(err, mfa.ErrCodeUsed), errors.Is(err, mfa.ErrNoFactor):
		return fmt.Errorf("%w: %w", ErrInvalidCode, err)
	case err != nil:
		return err
	}
	f.audit(ctx, AuditMFAEnrolled, u.ID, "success", c, map[string]string{"kind": string(storage.FactorTOTP), "factor_id": factorID})
	return nil
}

// CodeAttempt is one second-factor code submitted after the password.
type CodeAttempt struct {
	UserID string
	Code   string
	Client
}

// VerifyCode checks a TOTP code or a recovery code behind the brute-force
// guard (the one guard of the password check, with the user's factor key
// and the client address): while locked nothing is checked and a
// *LockedError is returned; a wrong, replayed or factor-less code is
// ErrInvalidCode and counts as a failure. It returns the amr method.
func (f *Factors) VerifyCode(ctx context.Context, a CodeAttempt) (string, error) {
	keys := []string{throttle.FactorKey(a.UserID)}
	if f.guard != nil {
		check := keys
		if a.IP != "" {
			check = append(slices.Clone(keys), throttle.IPKey(a.IP))
		}
		until, locked, err := f.guard.Check(ctx, check...)
		if err != nil {
			return "", fmt.Errorf("check second-factor lock: %w", err)
		}
		if locked {
			f.guard.Refused(ctx, keys[0])
			return "", &LockedError{Until: until}
		}
	}
	method, detail, err := f.checkCode(ctx, a.UserID, a.Code)
	if errors.Is(err, ErrInvalidCode) {
		if f.guard != nil {
			if ferr := f.guard.Fail(ctx, a.IP, a.UserAgent, keys...); ferr != nil {
				f.log.WarnContext(ctx, "record failed second factor", "err", ferr)
			}
		}
		f.audit(ctx, AuditMFAUsed, a.UserID, "failure", a.Client, map[string]string{"method": detail})
		return "", err
	}
	if err != nil {
		return "", err
	}
	if f.guard != nil {
		if serr := f.guard.Succeed(ctx, keys...); serr != nil {
			f.log.WarnContext(ctx, "reset failed second factors", "err", serr)
		}
	}
	f.audit(ctx, AuditMFAUsed, a.UserID, "success", a.Client, map[string]string{"method": detail})
	return method, nil
}

// checkCode tells a recovery code from a TOTP code by its shape.
func (f *Factors) checkCode(ctx context.Context, userID, code string) (method, detail string, err error) {
	if mfa.LooksLikeRecoveryCode(code) {
		err := f.mfa.UseRecoveryCode(ctx, userID, code)
		if errors.Is(err, mfa.ErrWrongCode) {
			return "", "recovery_code", fmt.Errorf("%w: %w", ErrInvalidCode, err)
		}
		return AMROTP, "recovery_code", err
	}
	_, err = f.mfa.VerifyTOTP(ctx, userID, code)
	if errors.Is(err, mfa.ErrWrongCode) || errors.Is(err, mfa.ErrCodeUsed) || errors.Is(err, mfa.ErrNoFactor) {
		return "", "totp", fmt.Errorf("%w: %w", ErrInvalidCode, err)
	}
	return AMROTP, "totp", err
}

// Reauthenticate is the fresh check removing a factor or regenerating
// recovery codes needs: the password (through Passwords.Verify, with its
// guard) or a second-factor code (VerifyCode). It returns
// ErrInvalidCredentials, ErrInvalidCode or a *LockedError on failure.
func (f *Factors) Reauthenticate(ctx context.Context, u storage.User, password, code string, c Client) error {
	switch {
	case password != "":
		got, err := f.passwords.Verify(ctx, PasswordAttempt{Username: u.Username, Password: password, IP: c.IP, UserAgent: c.UserAgent, Reauth: true})
		if err != nil {
			return err
		}
		if got.ID != u.ID {
			return ErrInvalidCredentials
		}
		return nil
	case code != "":
		_, err := f.VerifyCode(ctx, CodeAttempt{UserID: u.ID, Code: code, Client: c})
		return err
	}
	return ErrInvalidCredentials
}

// Remove deletes one of the user's factors (after Reauthenticate; audited).
func (f *Factors) Remove(ctx context.Context, u storage.User, factorID string, c Client) error {
	fa, err := f.store.GetFactor(ctx, factorID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && fa.UserID != u.ID) {
		return notFound("factor", factorID)
	}
	if err != nil {
		return fmt.Errorf("load factor: %w", err)
	}
	if err := f.store.DeleteFactor(ctx, u.ID, factorID); err != nil {
		return mapNotFound(err, "factor", factorID)
	}
	f.audit(ctx, AuditMFARemoved, u.ID, "success", c, map[string]string{"kind": string(fa.Kind), "factor_id": factorID})
	return nil
}

// NewRecoveryCodes replaces the user's recovery codes (after
// Reauthenticate when the user had some; audited) and returns them: the
// only time they are seen.
func (f *Factors) NewRecoveryCodes(ctx context.Context, u storage.User, c Client) ([]string, error) {
	codes, err := f.mfa.NewRecoveryCodes(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	f.audit(ctx, AuditMFARecoveryCodes, u.ID, "success", c, map[string]string{"count": fmt.Sprint(len(codes))})
	return codes, nil
}

// audit appends one event; a failure is logged (the action happened).
func (f *Factors) audit(ctx context.Context, typ, userID, outcome string, c Client, details map[string]string) {
	ua := c.UserAgent
	if len(ua) > 256 {
		ua = ua[:256]
	}
	e := storage.AuditEvent{
		At: f.mfa.Now().UTC().Truncate(time.Microsecond), Type: typ, Actor: "user:" + userID, UserID: userID,
		IP: c.IP, UserAgent: ua, Outcome: outcome, Details: details,
	}
	if err := f.store.AppendAudit(ctx, e); err != nil {
		f.log.WarnContext(ctx, "audit", "type", typ, "err", err)
	}
}

// ErrPasskey is a passkey response that was refused (forged, replayed,
// unknown credential); errors.Is(err, mfa.ErrPasskey) holds too.
var ErrPasskey = mfa.ErrPasskey

// BeginPasskeyRegistration starts registering a passkey for u.
func (f *Factors) BeginPasskeyRegistration(ctx context.Context, u storage.User) ([]byte, string, error) {
	return f.mfa.BeginPasskeyRegistration(ctx, u.ID, u.Username)
}

// RegisterPasskey finishes a registration (audited as mfa.enrolled).
func (f *Factors) RegisterPasskey(ctx context.Context, u storage.User, ticket string, response []byte, name string, c Client) (storage.Factor, error) {
	fa, err := f.mfa.FinishPasskeyRegistration(ctx, u.ID, u.Username, ticket, response, name)
	if err != nil {
		if errors.Is(err, mfa.ErrPasskey) {
			f.audit(ctx, AuditMFAEnrolled, u.ID, "failure", c, map[string]string{"kind": string(storage.FactorWebAuthn)})
		}
		return storage.Factor{}, err
	}
	f.audit(ctx, AuditMFAEnrolled, u.ID, "success", c, map[string]string{"kind": string(storage.FactorWebAuthn), "factor_id": fa.ID})
	return fa, nil
}

// RenamePasskey names one of u's passkeys.
func (f *Factors) RenamePasskey(ctx context.Context, u storage.User, factorID, name string) error {
	return mapNotFound(f.store.RenameFactor(ctx, u.ID, factorID, mfa.PasskeyName(name)), "factor", factorID)
}

// BeginPasskeyLogin starts an assertion: of userID's passkeys (second
// factor) or, with userID "", of any discoverable passkey.
func (f *Factors) BeginPasskeyLogin(ctx context.Context, userID string) ([]byte, string, error) {
	return f.mfa.BeginPasskeyLogin(ctx, userID)
}

// VerifyPasskey checks a passkey as the second factor of userID, behind
// the guard exactly as VerifyCode: a refused assertion is a failure.
func (f *Factors) VerifyPasskey(ctx context.Context, userID, ticket string, response []byte, c Client) (string, error) {
	keys := []string{throttle.FactorKey(userID)}
	if err := f.checkLock(ctx, keys, c); err != nil {
		return "", err
	}
	_, err := f.mfa.FinishPasskeyLogin(ctx, userID, ticket, response)
	if errors.Is(err, mfa.ErrPasskey) {
		f.fail(ctx, keys, c)
		f.audit(ctx, AuditMFAUsed, userID, "failure", c, map[string]string{"method": "passkey"})
		return "", err
	}
	if err != nil {
		return "", err
	}
	f.succeed(ctx, keys)
	f.audit(ctx, AuditMFAUsed, userID, "success", c, map[string]string{"method": "passkey"})
	return AMRHardware, nil
}

// PasskeySignIn is passwordless sign-in: the passkey names the user. The
// ceremony requires user verification, so the passkey alone is two
// factors (amr hwk, mfa). Failures count for the client address (no
// account is known).
func (f *Factors) PasskeySignIn(ctx context.Context, ticket string, response []byte, c Client) (string, []string, error) {
	if err := f.checkLock(ctx, nil, c); err != nil {
		return "", nil, err
	}
	res, err := f.mfa.FinishPasskeyLogin(ctx, "", ticket, response)
	if errors.Is(err, mfa.ErrPasskey) {
		f.fail(ctx, nil, c)
		return "", nil, err
	}
	if err != nil {
		return "", nil, err
	}
	amr := []string{AMRHardware}
	if res.UserVerified {
		amr = append(amr, AMRMFA)
	}
	f.audit(ctx, AuditMFAUsed, res.UserID, "success", c, map[string]string{"method": "passkey", "passwordless": "true"})
	return res.UserID, amr, nil
}

func (f *Factors) checkLock(ctx context.Context, keys []string, c Client) error {
	if f.guard == nil {
		return nil
	}
	check := slices.Clone(keys)
	if c.IP != "" {
		check = append(check, throttle.IPKey(c.IP))
	}
	until, locked, err := f.guard.Check(ctx, check...)
	if err != nil {
		return fmt.Errorf("check second-factor lock: %w", err)
	}
	if locked {
		key := throttle.IPKey(c.IP)
		if len(keys) > 0 {
			key = keys[0]
		}
		f.guard.Refused(ctx, key)
		return &LockedError{Until: until}
	}
	return nil
}

func (f *Factors) fail(ctx context.Context, keys []string, c Client) {
	if f.guard == nil {
		return
	}
	if err := f.guard.Fail(ctx, c.IP, c.UserAgent, keys...); err != nil {
		f.log.WarnContext(ctx, "record failed second factor", "err", err)
	}
}

func (f *Factors) succeed(ctx context.Context, keys []string) {
	if f.guard == nil {
		return
	}
	if err := f.guard.Succeed(ctx, keys...); err != nil {
		f.log.WarnContext(ctx, "reset failed second factors", "err", err)
	}
}

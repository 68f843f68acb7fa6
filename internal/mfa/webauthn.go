package mfa

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// Passkeys (WebAuthn level 2, go-webauthn). Registration asks for a
// discoverable credential (resident key required, so the passkey can sign
// in without a username) with user verification preferred. The ceremony
// state (go-webauthn's SessionData: challenge, RP id, allowed credentials)
// travels to the browser and back as a sealed ticket that expires after
// ceremonyLifetime; its challenge is claimed once in the store
// (storage.NonceWebAuthnChallenge), so one signed response cannot be
// replayed even within that time. go-webauthn checks the challenge, the
// origin, the RP id hash, the flags and the signature; the signature
// counter is checked here, atomically, by AdvanceFactorCounter (a counter
// that does not move forward is a cloned or replayed authenticator —
// go-webauthn only flags it).

// ErrPasskey: a passkey response was refused (forged, replayed, for
// another challenge, origin or RP, unknown credential).
var ErrPasskey = errors.New("mfa: passkey not accepted")

// ErrNoPasskeys: passkeys are not configured on this server.
var ErrNoPasskeys = errors.New("mfa: passkeys are not configured")

const (
	ticketPasskeyRegister = "webauthn-register"
	ticketPasskeyLogin    = "webauthn-login"
	ceremonyLifetime      = 5 * time.Minute
	// MaxPasskeyName bounds the name a user gives a passkey.
	MaxPasskeyName = 64
)

// PasskeyConfig is the relying party: its id (a registrable domain, the
// issuer's host by default), the name authenticators show, and the
// origins a response may come from (the issuer's).
type PasskeyConfig struct {
	RPID    string
	RPName  string
	Origins []string
}

// WithPasskeys enables the WebAuthn ceremonies.
func (s *Service) WithPasskeys(cfg PasskeyConfig) error {
	w, err := webauthn.New(&webauthn.Config{
		RPID: cfg.RPID, RPDisplayName: cfg.RPName, RPOrigins: cfg.Origins,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: ceremonyLifetime},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: ceremonyLifetime},
		},
	})
	if err != nil {
		return fmt.Errorf("mfa: webauthn: %w", err)
	}
	s.wa = w
	return nil
}

// PasskeysEnabled reports whether WithPasskeys was called.
func (s *Service) PasskeysEnabled() bool { return s.wa != nil }

// waUser is a Sesame user as go-webauthn sees it. The user handle is the
// stable user id (a UUID, 36 bytes: within WebAuthn's 64).
type waUser struct {
	id, name string
	creds    []webauthn.Credential
	factors  map[string]storage.Factor // by CredentialID
}

func (u *waUser) WebAuthnID() []byte                         { return []byte(u.id) }
func (u *waUser) WebAuthnName() string                       { return u.name }
func (u *waUser) WebAuthnDisplayName() string                { return u.name }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func credentialKey(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

// loadUser reads the user's passkeys.
func (s *Service) loadUser(ctx context.Context, userID, name string) (*waUser, error) {
	fs, err := s.store.ListFactors(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("mfa: list factors: %w", err)
	}
	u := &waUser{id: userID, name: name, factors: map[string]storage.Factor{}}
	for _, f := range fs {
		if f.Kind != storage.FactorWebAuthn || !f.Confirmed {
			continue
		}
		var c webauthn.Credential
		if err := json.Unmarshal(f.Secret, &c); err != nil {
			return nil, fmt.Errorf("mfa: stored passkey %s: %w", f.ID, err)
		}
		u.creds = append(u.creds, c)
		u.factors[f.CredentialID] = f
	}
	return u, nil
}

type ceremony struct {
	Session webauthn.SessionData `json:"s"`
	UserID  string               `json:"u,omitempty"`
}

// claim spends a ceremony's challenge: a second response to it is refused.
func (s *Service) claim(ctx context.Context, c ceremony) error {
	err := s.store.ClaimNonce(ctx, storage.NonceWebAuthnChallenge, c.Session.Challenge, s.now().Add(ceremonyLifetime+time.Minute))
	if errors.Is(err, storage.ErrConflict) {
		return fmt.Errorf("%w: challenge already used", ErrPasskey)
	}
	if err != nil {
		return fmt.Errorf("mfa: claim challenge: %w", err)
	}
	return nil
}

// BeginPasskeyRegistration starts registering a passkey for the user: the
// options for navigator.credentials.create (JSON) and the ticket to send
// back with the answer.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, userID, username string) ([]byte, string, error) {
	if s.wa == nil {
		return nil, "", ErrNoPasskeys
	}
	u, err := s.loadUser(ctx, userID, username)
	if err != nil {
		return nil, "", err
	}
	exclude := make([]protocol.CredentialDescriptor, 0, len(u.creds))
	for i := range u.creds {
		exclude = append(exclude, u.creds[i].Descriptor())
	}
	creation, sess, err := s.wa.BeginRegistration(u,
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification:   protocol.VerificationPreferred,
		}),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		webauthn.WithExclusions(exclude))
	if err != nil {
		return nil, "", fmt.Errorf("mfa: begin registration: %w", err)
	}
	return s.sealCeremony(ticketPasskeyRegister, ceremony{Session: *sess, UserID: userID}, creation)
}

func (s *Service) sealCeremony(kind string, c ceremony, options any) ([]byte, string, error) {
	tok, err := s.SealTicket(kind, c, ceremonyLifetime)
	if err != nil {
		return nil, "", err
	}
	b, err := json.Marshal(options)
	if err != nil {
		return nil, "", fmt.Errorf("mfa: webauthn options: %w", err)
	}
	return b, tok, nil
}

// FinishPasskeyRegistration checks the authenticator's answer (the JSON of
// the PublicKeyCredential) and stores the passkey under name.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, userID, username, ticket string, response []byte, name string) (storage.Factor, error) {
	if s.wa == nil {
		return storage.Factor{}, ErrNoPasskeys
	}
	var c ceremony
	if err := s.OpenTicket(ticketPasskeyRegister, ticket, &c); err != nil || c.UserID != userID {
		return storage.Factor{}, fmt.Errorf("%w: ceremony ticket", ErrPasskey)
	}
	if err := s.claim(ctx, c); err != nil {
		return storage.Factor{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return storage.Factor{}, fmt.Errorf("%w: %v", ErrPasskey, err)
	}
	u, err := s.loadUser(ctx, userID, username)
	if err != nil {
		return storage.Factor{}, err
	}
	cred, err := s.wa.CreateCredential(u, c.Session, parsed)
	if err != nil {
		return storage.Factor{}, fmt.Errorf("%w: %v", ErrPasskey, err)
	}
	rec, err := json.Marshal(cred)
	if err != nil {
		return storage.Factor{}, fmt.Errorf("mfa: encode passkey: %w", err)
	}
	id, err := secret.RandomToken(16)
	if err != nil {
		return storage.Factor{}, err
	}
	f := storage.Factor{
		ID: id, UserID: userID, Kind: storage.FactorWebAuthn, Name: PasskeyName(name), Secret: rec,
		CredentialID: credentialKey(cred.ID), Counter: int64(cred.Authenticator.SignCount),
		Confirmed: true, CreatedAt: s.clock(),
	}
	if err := s.store.CreateFactor(ctx, f); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return storage.Factor{}, fmt.Errorf("%w: credential already registered", ErrPasskey)
		}
		return storage.Factor{}, fmt.Errorf("mfa: store passkey: %w", err)
	}
	return f, nil
}

// PasskeyName cleans a name given to a passkey: trimmed, printable,
// bounded; "Passkey" when empty.
func PasskeyName(name string) string {
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.TrimSpace(name))
	for utf8.RuneCountInString(name) > MaxPasskeyName {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "" {
		return "Passkey"
	}
	return name
}

// PasskeyResult is a passkey sign-in that was accepted.
type PasskeyResult struct {
	UserID   string
	FactorID string
	// UserVerified: the authenticator verified the user (PIN, biometric),
	// so the passkey alone is two factors.
	UserVerified bool
}

// BeginPasskeyLogin starts a passkey assertion: for userID's passkeys (a
// second factor, user verification preferred), or with userID "" for any
// discoverable passkey (passwordless sign-in, user verification
// required; the authenticator names the user).
func (s *Service) BeginPasskeyLogin(ctx context.Context, userID string) ([]byte, string, error) {
	if s.wa == nil {
		return nil, "", ErrNoPasskeys
	}
	uv := webauthn.WithUserVerification(protocol.VerificationPreferred)
	if userID == "" {
		// Passwordless: the passkey is the whole sign-in, so the
		// authenticator must verify the user (PIN, biometric) — then it
		// is two factors by itself.
		assertion, sess, err := s.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
		if err != nil {
			return nil, "", fmt.Errorf("mfa: begin login: %w", err)
		}
		return s.sealCeremony(ticketPasskeyLogin, ceremony{Session: *sess}, assertion)
	}
	u, err := s.loadUser(ctx, userID, "")
	if err != nil {
		return nil, "", err
	}
	if len(u.creds) == 0 {
		return nil, "", ErrNoFactor
	}
	assertion, sess, err := s.wa.BeginLogin(u, uv)
	if err != nil {
		return nil, "", fmt.Errorf("mfa: begin login: %w", err)
	}
	return s.sealCeremony(ticketPasskeyLogin, ceremony{Session: *sess, UserID: userID}, assertion)
}

// FinishPasskeyLogin checks an assertion for the ceremony of ticket; userID
// must be the one the ceremony began with ("" for passwordless). The
// credential's signature counter must move forward (or stay 0 for
// authenticators that do not count).
func (s *Service) FinishPasskeyLogin(ctx context.Context, userID, ticket string, response []byte) (PasskeyResult, error) {
	if s.wa == nil {
		return PasskeyResult{}, ErrNoPasskeys
	}
	var c ceremony
	if err := s.OpenTicket(ticketPasskeyLogin, ticket, &c); err != nil || c.UserID != userID {
		return PasskeyResult{}, fmt.Errorf("%w: ceremony ticket", ErrPasskey)
	}
	if err := s.claim(ctx, c); err != nil {
		return PasskeyResult{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return PasskeyResult{}, fmt.Errorf("%w: %v", ErrPasskey, err)
	}
	var (
		u    *waUser
		cred *webauthn.Credential
	)
	if userID == "" {
		var lookupErr error
		cred, err = s.wa.ValidateDiscoverableLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
			f, err := s.store.GetFactorByCredentialID(ctx, credentialKey(rawID))
			if err != nil {
				if !errors.Is(err, storage.ErrNotFound) {
					lookupErr = err
				}
				return nil, fmt.Errorf("unknown credential")
			}
			if string(userHandle) != f.UserID {
				return nil, fmt.Errorf("user handle does not match the credential")
			}
			u, err = s.loadUser(ctx, f.UserID, "")
			if err != nil {
				lookupErr = err
				return nil, err
			}
			return u, nil
		}, c.Session, parsed)
		if lookupErr != nil {
			return PasskeyResult{}, lookupErr
		}
	} else {
		if u, err = s.loadUser(ctx, userID, ""); err != nil {
			return PasskeyResult{}, err
		}
		cred, err = s.wa.ValidateLogin(u, c.Session, parsed)
	}
	if err != nil {
		return PasskeyResult{}, fmt.Errorf("%w: %v", ErrPasskey, err)
	}
	f, ok := u.factors[credentialKey(cred.ID)]
	if !ok {
		return PasskeyResult{}, fmt.Errorf("%w: unknown credential", ErrPasskey)
	}
	// WebAuthn §7.2 step 21: the counter must grow; one that does not is
	// a clone or a replay, refused (not only flagged).
	err = s.store.AdvanceFactorCounter(ctx, f.ID, int64(parsed.Response.AuthenticatorData.Counter), s.clock())
	if errors.Is(err, storage.ErrConflict) {
		return PasskeyResult{}, fmt.Errorf("%w: signature counter did not increase", ErrPasskey)
	}
	if err != nil {
		return PasskeyResult{}, fmt.Errorf("mfa: record passkey use: %w", err)
	}
	return PasskeyResult{
		UserID: u.id, FactorID: f.ID,
		UserVerified: parsed.Response.AuthenticatorData.Flags.HasUserVerified(),
	}, nil
}

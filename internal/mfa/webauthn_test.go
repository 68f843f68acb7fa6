package mfa_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/sesameauth/sesame/internal/mfa"
)

// softKey is a software authenticator written from the WebAuthn
// specification (§6.1 authenticator data, §6.5 attestation "none",
// §7 client data), so the tests can forge every field a real
// authenticator would never get wrong.
type softKey struct {
	priv    *ecdsa.PrivateKey
	credID  []byte
	counter uint32
}

func newSoftKey(t *testing.T) *softKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return &softKey{priv: priv, credID: id}
}

var b64 = base64.RawURLEncoding

// ceremonyOf reads the challenge (and, for registration, the user handle)
// from the options the server sent.
func ceremonyOf(t *testing.T, options []byte) (challenge, userID string) {
	t.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			User      struct {
				ID string `json:"id"`
			} `json:"user"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatalf("options %s: %v", options, err)
	}
	return o.PublicKey.Challenge, o.PublicKey.User.ID
}

// forge are the fields a test may corrupt.
type forge struct {
	typ, challenge, origin, rpID string
	userHandle                   []byte
	flags                        byte
	keepCounter                  bool
}

func clientData(f forge) []byte {
	b, _ := json.Marshal(map[string]any{"type": f.typ, "challenge": f.challenge, "origin": f.origin, "crossOrigin": false})
	return b
}

func (k *softKey) authData(rpID string, flags byte, attested []byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, k.counter)
	return append(out, attested...)
}

func (k *softKey) register(t *testing.T, f forge) []byte {
	t.Helper()
	cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1,
		-2: k.priv.PublicKey.X.FillBytes(make([]byte, 32)), -3: k.priv.PublicKey.Y.FillBytes(make([]byte, 32))})
	if err != nil {
		t.Fatal(err)
	}
	att := make([]byte, 16) // AAGUID: zero
	att = binary.BigEndian.AppendUint16(att, uint16(len(k.credID)))
	att = append(att, k.credID...)
	att = append(att, cose...)
	flags := f.flags
	if flags == 0 {
		flags = 0x45 // UP | UV | AT
	}
	obj, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": k.authData(f.rpID, flags, att)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.credID), "rawId": b64.EncodeToString(k.credID), "type": "public-key",
		"response": map[string]string{
			"clientDataJSON":    b64.EncodeToString(clientData(f)),
			"attestationObject": b64.EncodeToString(obj),
		},
	})
	return b
}

func (k *softKey) assert(t *testing.T, f forge) []byte {
	t.Helper()
	if !f.keepCounter {
		k.counter++
	}
	flags := f.flags
	if flags == 0 {
		flags = 0x05 // UP | UV
	}
	ad := k.authData(f.rpID, flags, nil)
	cd := clientData(f)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.credID), "rawId": b64.EncodeToString(k.credID), "type": "public-key",
		"response": map[string]string{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(ad),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(f.userHandle),
		},
	})
	return b
}

const (
	testRPID   = "id.example.com"
	testOrigin = "https://id.example.com"
)

func passkeyService(t *testing.T) *mfa.Service {
	t.Helper()
	s, _, _ := newService(t, nil)
	if err := s.WithPasskeys(mfa.PasskeyConfig{RPID: testRPID, RPName: "Sesame", Origins: []string{testOrigin}}); err != nil {
		t.Fatal(err)
	}
	return s
}

// good is the honest answer to a ceremony.
func good(typ, challenge, user string) forge {
	return forge{typ: typ, challenge: challenge, origin: testOrigin, rpID: testRPID, userHandle: []byte(user)}
}

func registerKey(t *testing.T, s *mfa.Service, userID string) *softKey {
	t.Helper()
	ctx := t.Context()
	opts, ticket, err := s.BeginPasskeyRegistration(ctx, userID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	ch, handle := ceremonyOf(t, opts)
	if h, _ := b64.DecodeString(handle); string(h) != userID {
		t.Fatalf("user handle %q, want the user id", h)
	}
	k := newSoftKey(t)
	f, err := s.FinishPasskeyRegistration(ctx, userID, "alice", ticket, k.register(t, good("webauthn.create", ch, userID)), "  My key\x00 ")
	if err != nil {
		t.Fatalf("registration: %v", err)
	}
	if f.Name != "My key" || f.CredentialID != b64.EncodeToString(k.credID) || !f.Confirmed {
		t.Fatalf("stored passkey %+v", f)
	}
	return k
}

func TestPasskeyRegistrationRefusesTamperedEnrolment(t *testing.T) {
	s := passkeyService(t)
	ctx := t.Context()
	for _, tc := range []struct {
		name   string
		mangle func(*forge)
		user   string // who finishes the ceremony
	}{
		{"challenge of another ceremony", func(f *forge) { f.challenge = b64.EncodeToString([]byte("another challenge, 32 bytes long")) }, "u-1"},
		{"another origin", func(f *forge) { f.origin = "https://evil.example.net" }, "u-1"},
		{"another RP id", func(f *forge) { f.rpID = "evil.example.net" }, "u-1"},
		{"an assertion's client data type", func(f *forge) { f.typ = "webauthn.get" }, "u-1"},
		{"no user presence", func(f *forge) { f.flags = 0x44 }, "u-1"},
		{"another user's ceremony ticket", func(*forge) {}, "u-2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, ticket, err := s.BeginPasskeyRegistration(ctx, "u-1", "alice")
			if err != nil {
				t.Fatal(err)
			}
			ch, _ := ceremonyOf(t, opts)
			f := good("webauthn.create", ch, "u-1")
			tc.mangle(&f)
			_, err = s.FinishPasskeyRegistration(ctx, tc.user, "x", ticket, newSoftKey(t).register(t, f), "k")
			if !errors.Is(err, mfa.ErrPasskey) {
				t.Fatalf("tampered enrolment: %v, want ErrPasskey", err)
			}
		})
	}
	t.Run("a response replayed into a second finish", func(t *testing.T) {
		opts, ticket, _ := s.BeginPasskeyRegistration(ctx, "u-3", "carol")
		ch, _ := ceremonyOf(t, opts)
		k := newSoftKey(t)
		resp := k.register(t, good("webauthn.create", ch, "u-3"))
		if _, err := s.FinishPasskeyRegistration(ctx, "u-3", "carol", ticket, resp, "k"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FinishPasskeyRegistration(ctx, "u-3", "carol", ticket, resp, "k"); !errors.Is(err, mfa.ErrPasskey) {
			t.Fatalf("replayed registration: %v, want ErrPasskey", err)
		}
	})
	t.Run("garbage", func(t *testing.T) {
		_, ticket, _ := s.BeginPasskeyRegistration(ctx, "u-1", "alice")
		if _, err := s.FinishPasskeyRegistration(ctx, "u-1", "alice", ticket, []byte(`{"id":1}`), "k"); !errors.Is(err, mfa.ErrPasskey) {
			t.Fatalf("garbage: %v", err)
		}
		if _, err := s.FinishPasskeyRegistration(ctx, "u-1", "alice", "not-a-ticket", []byte(`{}`), "k"); !errors.Is(err, mfa.ErrPasskey) {
			t.Fatalf("forged ticket: %v", err)
		}
	})
}

func TestPasskeyLoginRefusesForgedAssertions(t *testing.T) {
	s := passkeyService(t)
	ctx := t.Context()
	k := registerKey(t, s, "u-1")
	other := registerKey(t, s, "u-2")

	begin := func(userID string) (string, string) {
		t.Helper()
		opts, ticket, err := s.BeginPasskeyLogin(ctx, userID)
		if err != nil {
			t.Fatal(err)
		}
		ch, _ := ceremonyOf(t, opts)
		return ch, ticket
	}

	// Passwordless: the authenticator names the user.
	ch, ticket := begin("")
	resp := k.assert(t, good("webauthn.get", ch, "u-1"))
	res, err := s.FinishPasskeyLogin(ctx, "", ticket, resp)
	if err != nil || res.UserID != "u-1" || !res.UserVerified {
		t.Fatalf("passwordless login = %+v, %v", res, err)
	}
	accepted := k.counter
	if _, err := s.FinishPasskeyLogin(ctx, "", ticket, resp); !errors.Is(err, mfa.ErrPasskey) {
		t.Fatalf("the same assertion replayed: %v, want ErrPasskey", err)
	}

	for _, tc := range []struct {
		name   string
		key    *softKey
		mangle func(*forge)
		user   string // the second-factor user, "" = passwordless
	}{
		{"wrong challenge", k, func(f *forge) { f.challenge = b64.EncodeToString([]byte("not the challenge the server sent")) }, ""},
		{"wrong origin", k, func(f *forge) { f.origin = "https://id.example.com.evil.net" }, ""},
		{"wrong RP ID", k, func(f *forge) { f.rpID = "example.com" }, ""},
		{"replayed counter (not increased)", k, func(f *forge) { f.keepCounter = true; k.counter = accepted }, ""},
		{"registration client data type", k, func(f *forge) { f.typ = "webauthn.create" }, ""},
		{"user handle of another user", k, func(f *forge) { f.userHandle = []byte("u-2") }, ""},
		{"another user's passkey as second factor", other, func(f *forge) { f.userHandle = []byte("u-2") }, "u-1"},
		{"no user presence", k, func(f *forge) { f.flags = 0x04 }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch, ticket := begin(tc.user)
			f := good("webauthn.get", ch, "u-1")
			tc.mangle(&f)
			if _, err := s.FinishPasskeyLogin(ctx, tc.user, ticket, tc.key.assert(t, f)); !errors.Is(err, mfa.ErrPasskey) {
				t.Fatalf("forged assertion accepted or misfiled: %v", err)
			}
		})
	}

	// A signature over other data (a flipped bit in the authenticator
	// data after signing) fails too.
	ch, ticket = begin("")
	var a map[string]any
	_ = json.Unmarshal(k.assert(t, good("webauthn.get", ch, "u-1")), &a)
	r := a["response"].(map[string]any)
	ad, _ := b64.DecodeString(r["authenticatorData"].(string))
	ad[len(ad)-1] ^= 1 // the counter
	r["authenticatorData"] = b64.EncodeToString(ad)
	tampered, _ := json.Marshal(a)
	if _, err := s.FinishPasskeyLogin(ctx, "", ticket, tampered); !errors.Is(err, mfa.ErrPasskey) {
		t.Fatalf("tampered authenticator data: %v", err)
	}

	// As a second factor for its own user: accepted, counter moved on.
	ch, ticket = begin("u-1")
	res, err = s.FinishPasskeyLogin(ctx, "u-1", ticket, k.assert(t, good("webauthn.get", ch, "u-1")))
	if err != nil || res.UserID != "u-1" {
		t.Fatalf("second-factor passkey = %+v, %v", res, err)
	}
	// A ticket begun for passwordless cannot finish a second-factor
	// ceremony of a user (and the reverse).
	ch, ticket = begin("")
	if _, err := s.FinishPasskeyLogin(ctx, "u-1", ticket, k.assert(t, good("webauthn.get", ch, "u-1"))); !errors.Is(err, mfa.ErrPasskey) {
		t.Fatalf("ceremony of another kind: %v", err)
	}
	if mfa.PasskeyName("") != "Passkey" || len([]rune(mfa.PasskeyName(string(make([]rune, 200))))) > mfa.MaxPasskeyName {
		t.Error("PasskeyName does not default or bound")
	}
}

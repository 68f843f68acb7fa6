package secret

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func key(c byte) []byte { return bytes.Repeat([]byte{c}, 32) }

func TestNewRejectsShortSecrets(t *testing.T) {
	if _, err := New([]byte("short")); err == nil || !strings.Contains(err.Error(), "SESAME_SECRET") {
		t.Fatalf("short current secret: err = %v, want message naming SESAME_SECRET", err)
	}
	if _, err := New(key('a'), []byte("short")); err == nil {
		t.Fatal("short old secret accepted")
	}
}

func TestSealOpenAcrossRotation(t *testing.T) {
	oldRing, _ := New(key('a'))
	sealed, err := oldRing.Seal([]byte("private key"), []byte("kid-1"))
	if err != nil {
		t.Fatal(err)
	}
	rotated, _ := New(key('b'), key('a'))
	pt, err := rotated.Open(sealed, []byte("kid-1"))
	if err != nil || string(pt) != "private key" {
		t.Fatalf("open with rotated keyring = %q, %v", pt, err)
	}
	if _, err := rotated.Open(sealed, []byte("kid-2")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("open with wrong aad: err = %v, want ErrDecrypt", err)
	}
	other, _ := New(key('c'))
	if _, err := other.Open(sealed, []byte("kid-1")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("open with unrelated secret: err = %v, want ErrDecrypt", err)
	}
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	if _, err := rotated.Open(tampered, []byte("kid-1")); err == nil {
		t.Fatal("tampered ciphertext opened")
	}
	// New material uses the current secret only.
	sealed2, _ := rotated.Seal([]byte("x"), nil)
	if _, err := oldRing.Open(sealed2, nil); err == nil {
		t.Fatal("value sealed under the new secret opened with the old one only")
	}
}

func TestClientSecretHash(t *testing.T) {
	ring, _ := New(key('a'))
	h := ring.HashClientSecret("s3cret")
	if !strings.HasPrefix(h, "hmac-sha256$") || strings.Contains(h, "s3cret") {
		t.Fatalf("hash %q not self-describing or leaks the secret", h)
	}
	if !ring.VerifyClientSecret("s3cret", h) {
		t.Fatal("right secret rejected")
	}
	for _, bad := range []string{"", "s3cre", "s3cret ", "S3CRET"} {
		if ring.VerifyClientSecret(bad, h) {
			t.Fatalf("wrong secret %q accepted", bad)
		}
	}
	if ring.VerifyClientSecret("s3cret", "plain") {
		t.Fatal("unprefixed hash accepted")
	}
	rotated, _ := New(key('b'), key('a'))
	if !rotated.VerifyClientSecret("s3cret", h) {
		t.Fatal("hash made under the old system secret rejected after rotation")
	}
	dropped, _ := New(key('b'))
	if dropped.VerifyClientSecret("s3cret", h) {
		t.Fatal("hash accepted after its system secret was dropped")
	}
}

func TestDeriveIsPerPurpose(t *testing.T) {
	ring, _ := New(key('a'), key('b'))
	if bytes.Equal(ring.Derive(PurposeAtRest), ring.Derive(PurposeTokenHMAC)) {
		t.Fatal("two purposes share a key")
	}
	if old := ring.DeriveOld(PurposeTokenHMAC); len(old) != 1 || bytes.Equal(old[0], ring.Derive(PurposeTokenHMAC)) {
		t.Fatalf("DeriveOld = %d keys, want 1 distinct from current", len(old))
	}
}

func BenchmarkVerifyClientSecret(b *testing.B) {
	ring, _ := New(key('a'))
	h := ring.HashClientSecret("s3cret")
	for b.Loop() {
		ring.VerifyClientSecret("s3cret", h)
	}
}

func TestSealBound(t *testing.T) {
	old, _ := New([]byte("an old secret that is long enough!!"))
	k, err := New([]byte("a current secret that is long enough"), []byte("an old secret that is long enough!!"))
	if err != nil {
		t.Fatal(err)
	}
	aad, bind := []byte("row-1"), []byte("sesame_rt_presented")
	sealed, err := k.SealBound([]byte("pair"), aad, bind)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k.OpenBound(sealed, aad, bind); err != nil || string(got) != "pair" {
		t.Fatalf("OpenBound = %q, %v", got, err)
	}
	if _, err := k.OpenBound(sealed, aad, []byte("sesame_rt_other")); err == nil {
		t.Fatal("opened with another bind value")
	}
	if _, err := k.Open(sealed, aad); err == nil {
		t.Fatal("a bound value opened without its bind value")
	}
	if _, err := k.OpenBound(sealed, []byte("row-2"), bind); err == nil {
		t.Fatal("opened with another aad")
	}
	// Sealed under an old secret, still opens after rotation.
	oldSealed, err := old.SealBound([]byte("pair"), aad, bind)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k.OpenBound(oldSealed, aad, bind); err != nil || string(got) != "pair" {
		t.Fatalf("OpenBound of an old-secret value = %q, %v", got, err)
	}
}

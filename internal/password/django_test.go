package password

import (
	"errors"
	"strings"
	"testing"
)

// Vectors made by Django 3.2's own hashers (Debian python3-django,
// python3-argon2, python3-bcrypt) with low costs; scrypt in the format of
// Django 4.0's ScryptPasswordHasher, computed with Python's hashlib.scrypt.
// The end-to-end import test (internal/importer/django) creates users
// through Django's create_user with the default costs.
const djangoPW = "s3cret pässword"

var djangoVectors = map[string]string{
	AlgPBKDF2SHA256: "pbkdf2_sha256$1000$salt123$+Pot6TygwliHgthxJeJAAsxMfGHJQyynhP7xXI9dcVU=",
	AlgPBKDF2SHA1:   "pbkdf2_sha1$1000$salt123$MfFHrt14oI9jFnMs2AUz9cn8PNI=",
	"argon2id":      "argon2$argon2id$v=19$m=64,t=1,p=2$c2FsdHNhbHRzYWx0$KAPyQ8SbaPtrpV/u7ooiLw",
	"argon2i":       "argon2$argon2i$v=19$m=64,t=1,p=2$c2FsdHNhbHRzYWx0$lq2f1g2m4VRekO3p95dBeMyeF+B/t3Wm4LhahO10UuM",
	AlgBcryptSHA256: "bcrypt_sha256$$2b$04$PAo8Hm2YJanXI2Tdi2yP0uG/d2nB9ruZOvjqb6omtw6PrvY1Wkky6",
	AlgBcrypt:       "bcrypt$$2b$04$3stzaKGdINnfqsld8fqVwewRogYQuJA2aXj6YeAr001cbVkEBYYQW",
	AlgScrypt:       "scrypt$1024$saltysalt$8$1$URjH54zGCki0TD1D+HuPLNjx1UlCp8aH1e2hvmLh7NZZUqlUZwqJH1RUgAGjhAknP/BCxxhzPKkzG5MHtsl8FQ==",
}

func TestVerifyDjango(t *testing.T) {
	for name, enc := range djangoVectors {
		t.Run(name, func(t *testing.T) {
			ok, rehash, err := Verify(djangoPW, enc)
			if err != nil || !ok || !rehash {
				t.Fatalf("right password: ok=%v rehash=%v err=%v; want ok and rehash", ok, rehash, err)
			}
			ok, rehash, err = Verify(djangoPW+"x", enc)
			if err != nil || ok || rehash {
				t.Fatalf("wrong password: ok=%v rehash=%v err=%v; want a plain mismatch", ok, rehash, err)
			}
			if !NeedsRehash(enc, DefaultParams) {
				t.Fatal("a Django hash must need a rehash")
			}
			alg, err := Inspect(enc)
			if err != nil || !strings.HasPrefix(enc, alg+"$") {
				t.Fatalf("Inspect = %q, %v", alg, err)
			}
		})
	}
	t.Run("bcrypt reads 72 bytes, as Django's did", func(t *testing.T) {
		enc := "bcrypt$$2b$04$7977Zx331ShtDtPCIx9Wc.5QPUB969rNYQgREM/lwmAry3Ras20/m" // of 80 × "x"
		for _, pw := range []string{strings.Repeat("x", 80), strings.Repeat("x", 72)} {
			if ok, _, err := Verify(pw, enc); !ok || err != nil {
				t.Fatalf("len %d: ok=%v err=%v", len(pw), ok, err)
			}
		}
		if ok, _, _ := Verify(strings.Repeat("x", 71), enc); ok {
			t.Fatal("71 bytes must not match")
		}
	})
}

func TestVerifyDjangoRefuses(t *testing.T) {
	sha := djangoVectors[AlgPBKDF2SHA256]
	tests := []struct {
		name string
		enc  string
		want error // nil: a plain mismatch
	}{
		{"unusable password", "!zazJeHcG55zdpHo3TOJ6wexDoBHPX9gjEr7bV0QB", nil},
		{"unusable, empty after !", "!", nil},
		{"md5 is not verified", "md5$abc$882f9f204981d48730865ea15aeaca29", ErrUnsupported},
		{"unknown algorithm", "whirlpool$1$salt$hash", ErrUnsupported},
		{"argon2 version 1.0", "argon2$argon2i$m=512,t=2,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", ErrUnsupported},
		{"argon2d", "argon2$argon2d$v=19$m=64,t=1,p=2$c2FsdHNhbHRzYWx0$KAPyQ8SbaPtrpV/u7ooiLw", ErrUnsupported},
		{"truncated pbkdf2", sha[:len(sha)-10], ErrMalformed},
		{"pbkdf2 without hash", "pbkdf2_sha256$1000$salt123", ErrMalformed},
		{"pbkdf2 iterations beyond bound", strings.Replace(sha, "$1000$", "$999999999$", 1), ErrMalformed},
		{"truncated bcrypt", djangoVectors[AlgBcrypt][:40], ErrMalformed},
		{"bcrypt cost beyond bound", strings.Replace(djangoVectors[AlgBcrypt], "$04$", "$31$", 1), ErrMalformed},
		{"scrypt memory beyond bound", strings.Replace(djangoVectors[AlgScrypt], "scrypt$1024$", "scrypt$1048576$", 1) + "", ErrMalformed},
		{"scrypt N not a power of two", strings.Replace(djangoVectors[AlgScrypt], "scrypt$1024$", "scrypt$1000$", 1), ErrMalformed},
		{"no algorithm", "plaintext", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := Verify(djangoPW, tt.enc)
			if ok || rehash {
				t.Fatalf("ok=%v rehash=%v: must never match", ok, rehash)
			}
			if tt.want == nil {
				if err != nil {
					t.Fatalf("err = %v, want a plain mismatch", err)
				}
			} else if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if _, ierr := Inspect(tt.enc); (tt.want == nil) != (ierr == nil) || (tt.want != nil && !errors.Is(ierr, tt.want)) {
				t.Fatalf("Inspect err = %v, want %v", ierr, tt.want)
			}
		})
	}
}

func TestInspectNative(t *testing.T) {
	h, err := Hash("pw", fast)
	if err != nil {
		t.Fatal(err)
	}
	if alg, err := Inspect(h); alg != AlgArgon2id || err != nil {
		t.Fatalf("Inspect = %q, %v", alg, err)
	}
	if _, err := Inspect(h[:len(h)-30]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("truncated argon2id: %v", err)
	}
}

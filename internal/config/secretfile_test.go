package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	s1 = "0123456789abcdef0123456789abcdef-one"
	s2 = "0123456789abcdef0123456789abcdef-two"
)

func TestKeyringFromEnvWithRotation(t *testing.T) {
	c := Default()
	c.Secret = s1 + ", " + s2
	ring, src, err := c.Keyring()
	if err != nil {
		t.Fatal(err)
	}
	if src != "SESAME_SECRET" {
		t.Errorf("source %q", src)
	}
	// A hash made under the old secret must still verify.
	oldCfg := Default()
	oldCfg.Secret = s2
	oldRing, _, err := oldCfg.Keyring()
	if err != nil {
		t.Fatal(err)
	}
	if !ring.VerifyClientSecret("client-secret", oldRing.HashClientSecret("client-secret")) {
		t.Fatal("old secret not accepted")
	}
	if oldRing.VerifyClientSecret("client-secret", ring.HashClientSecret("client-secret")) {
		t.Fatal("new material must use the first (current) secret")
	}
}

func TestKeyringErrors(t *testing.T) {
	short := Default()
	short.Secret = "too-short"
	if _, _, err := short.Keyring(); err == nil || !strings.Contains(err.Error(), "SESAME_SECRET") || strings.Contains(err.Error(), "too-short") {
		t.Fatalf("short secret: %v", err)
	}
	pg := Default()
	pg.DatabaseURL = "postgres://127.0.0.1/sesame"
	if _, _, err := pg.Keyring(); err == nil || !strings.Contains(err.Error(), "SESAME_SECRET") {
		t.Fatalf("postgres without secret: %v", err)
	}
	missing := Default()
	missing.SecretFile = filepath.Join(t.TempDir(), "absent")
	if _, _, err := missing.Keyring(); err == nil || !strings.Contains(err.Error(), "SESAME_SECRET_FILE") {
		t.Fatalf("missing file: %v", err)
	}
	empty := Default()
	empty.SecretFile = writeFile(t, "empty", "\n# nothing\n")
	if _, _, err := empty.Keyring(); err == nil || !strings.Contains(err.Error(), "no secret") {
		t.Fatalf("empty file: %v", err)
	}
}

func TestKeyringFromFileOnePerLine(t *testing.T) {
	c := Default()
	c.SecretFile = writeFile(t, "secret", s1+"\n"+s2+"\n")
	ring, _, err := c.Keyring()
	if err != nil {
		t.Fatal(err)
	}
	only2 := Default()
	only2.Secret = s2
	r2, _, _ := only2.Keyring()
	if !ring.VerifyClientSecret("x", r2.HashClientSecret("x")) {
		t.Fatal("second line should be accepted as an old secret")
	}
}

func TestKeyringGeneratedBesideSQLite(t *testing.T) {
	dir := t.TempDir()
	c := Default()
	c.DatabaseURL = "sqlite:" + filepath.Join(dir, "sesame.db")
	ring1, src1, err := c.Keyring()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(src1, "generated ") {
		t.Errorf("first source %q", src1)
	}
	file := filepath.Join(dir, "sesame.db.secret")
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v, want 0600", st.Mode().Perm())
	}
	ring2, src2, err := c.Keyring()
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(src2, "generated") {
		t.Error("second call must reuse the file")
	}
	if !ring2.VerifyClientSecret("x", ring1.HashClientSecret("x")) {
		t.Fatal("reused secret differs from the generated one")
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".sesame-secret-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

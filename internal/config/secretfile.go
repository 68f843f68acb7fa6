package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sesameauth/sesame/internal/secret"
)

// Keyring resolves the system secret into a keyring and says where it came
// from (for a start-up log line; never the value). Order: SESAME_SECRET,
// then SESAME_SECRET_FILE, then — SQLite only, for development — a secret
// generated once into "<database path>.secret" (mode 0600) and reused.
// Several secrets (comma-separated, or one per line in a file) support
// rotation: the first is current, the others are still accepted.
func (c Config) Keyring() (*secret.Keyring, string, error) {
	switch {
	case c.Secret != "":
		ring, err := ringOf(splitSecrets(c.Secret, ","))
		if err != nil {
			return nil, "", fmt.Errorf("invalid SESAME_SECRET: %w", err)
		}
		return ring, "SESAME_SECRET", nil
	case c.SecretFile != "":
		ring, err := ringFromFile(c.SecretFile)
		if err != nil {
			return nil, "", fmt.Errorf("invalid SESAME_SECRET_FILE %q: %w", c.SecretFile, err)
		}
		return ring, "SESAME_SECRET_FILE " + c.SecretFile, nil
	}
	path, ok := c.SQLitePath()
	if !ok {
		return nil, "", errors.New("SESAME_SECRET (or SESAME_SECRET_FILE) is required with a Postgres store; generate one with: openssl rand -base64 48")
	}
	file := path + ".secret"
	created, err := ensureSecretFile(file)
	if err != nil {
		return nil, "", fmt.Errorf("SESAME_SECRET not set and cannot generate %s: %w", file, err)
	}
	ring, err := ringFromFile(file)
	if err != nil {
		return nil, "", fmt.Errorf("generated secret file %q: %w", file, err)
	}
	if created {
		return ring, "generated " + file, nil
	}
	return ring, "file " + file, nil
}

func splitSecrets(s, sep string) []string {
	var out []string
	for _, p := range strings.Split(s, sep) {
		p = strings.TrimSpace(p)
		if p == "" || strings.HasPrefix(p, "#") {
			continue
		}
		out = append(out, p)
	}
	return out
}

func ringOf(secrets []string) (*secret.Keyring, error) {
	if len(secrets) == 0 {
		return nil, errors.New("no secret given")
	}
	old := make([][]byte, 0, len(secrets)-1)
	for _, s := range secrets[1:] {
		old = append(old, []byte(s))
	}
	return secret.New([]byte(secrets[0]), old...)
}

func ringFromFile(path string) (*secret.Keyring, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ringOf(splitSecrets(string(data), "\n"))
}

// ensureSecretFile creates file with a fresh secret unless it exists. The
// secret is written to a temporary file first and then hard-linked into
// place, which fails if the name exists: two processes starting at once
// agree on one secret and neither can read a half-written file.
func ensureSecretFile(file string) (created bool, err error) {
	if _, err := os.Stat(file); err == nil {
		return false, nil
	}
	s, err := secret.Generate()
	if err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".sesame-secret-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	// CreateTemp already uses 0600; Chmod guards against an odd umask.
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return false, err
	}
	if _, err := tmp.WriteString(s + "\n"); err != nil {
		_ = tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	if err := os.Link(tmp.Name(), file); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// CheckSecret validates the configured system secret without creating
// anything: a given SESAME_SECRET or SESAME_SECRET_FILE must hold valid
// secrets, and a Postgres store needs one. Commands call it before opening
// the store, so a bad secret is reported as bad input and leaves no
// database file behind. The SQLite fallback (a generated file) is left to
// Keyring.
func (c Config) CheckSecret() error {
	if c.Secret != "" || c.SecretFile != "" {
		_, _, err := c.Keyring()
		return err
	}
	if _, ok := c.SQLitePath(); !ok {
		_, _, err := c.Keyring()
		return err
	}
	return nil
}

package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func noEnv(string) (string, bool) { return "", false }

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsAreValidAndMatchSpec(t *testing.T) {
	c, err := Load(Sources{LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"issuer", c.Issuer, "http://localhost:8080"},
		{"listen", c.Listen, "127.0.0.1:8080"},
		{"database", c.DatabaseURL, "sqlite:sesame.db"},
		{"access lifetime", c.AccessTokenLifetime, 15 * time.Minute},
		{"refresh lifetime", c.RefreshTokenLifetime, 720 * time.Hour},
		{"id lifetime", c.IDTokenLifetime, time.Hour},
		{"code lifetime", c.AuthCodeLifetime, 10 * time.Minute},
		{"rotate refresh", c.RotateRefreshTokens, true},
		{"format", c.AccessTokenFormat, "jwt"},
		{"id alg", c.IDTokenSigningAlg, "RS256"},
		{"at alg", c.AccessTokenSigningAlg, "ES256"},
		{"grace", c.RefreshReuseGrace, 10 * time.Second}, // SPEC says 0s; issue 21 chose 10 s (docs/security.md)
		{"auto migrate", c.AutoMigrate, true},
		{"open registration", c.OpenRegistration, false},
		{"key rotation", c.KeyRotationInterval, 2160 * time.Hour},
		{"rsa bits", c.RSAKeyBits, 2048},
		{"argon2 memory", c.Argon2MemoryKiB, uint32(19456)},
		{"argon2 iterations", c.Argon2Iterations, uint32(2)},
		{"argon2 parallelism", c.Argon2Parallelism, uint8(1)},
		{"shutdown", c.ShutdownTimeout, 15 * time.Second},
		{"demo", c.Demo, true},
		{"allow secret in config", c.AllowSecretInConfig, false},
		{"log format", c.LogFormat, "text"},
		{"log level", c.LogLevel, "info"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestPrecedenceFileEnvFlag(t *testing.T) {
	file := writeFile(t, "sesame.yaml", "access_token_lifetime: 20m\nlisten: 127.0.0.1:7000\nlog_level: debug\nrotate_refresh_tokens: false\n")
	env := envOf(map[string]string{"SESAME_LISTEN": "127.0.0.1:7001", "SESAME_LOG_LEVEL": "warn"})
	flags := map[string]string{"SESAME_LOG_LEVEL": "error"}
	c, err := Load(Sources{File: file, LookupEnv: env, Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessTokenLifetime != 20*time.Minute {
		t.Errorf("file value lost: access lifetime %v", c.AccessTokenLifetime)
	}
	if c.RotateRefreshTokens {
		t.Error("file value lost: rotate_refresh_tokens should be false")
	}
	if c.Listen != "127.0.0.1:7001" {
		t.Errorf("env should override file: listen %q", c.Listen)
	}
	if c.LogLevel != "error" {
		t.Errorf("flag should override env and file: log level %q", c.LogLevel)
	}
}

func TestFileErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"unknown key", "acess_token_lifetime: 5m\n", `unknown key "acess_token_lifetime"`},
		{"env-style key is unknown", "SESAME_LISTEN: x\n", `unknown key "SESAME_LISTEN"`},
		{"list value", "listen: [a, b]\n", "listen must be a single value"},
		{"not a mapping", "- a\n- b\n", "must be a mapping"},
		{"bad value names env", "access_token_lifetime: soon\n", `invalid SESAME_ACCESS_TOKEN_LIFETIME "soon"`},
		{"secret refused", "secret: 0123456789abcdef0123456789abcdef\n", "secret is refused in a config file"},
		{"duplicate key", "listen: a:1\nlisten: b:2\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(Sources{File: writeFile(t, "c.yaml", tt.body), LookupEnv: noEnv})
			if err == nil {
				t.Fatal("want error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		if _, err := Load(Sources{File: filepath.Join(t.TempDir(), "nope.yaml"), LookupEnv: noEnv}); err == nil {
			t.Fatal("want error for a missing file")
		}
	})
	t.Run("secret allowed when opted in", func(t *testing.T) {
		c, err := Load(Sources{File: writeFile(t, "c.yaml", "allow_secret_in_config: true\nsecret: 0123456789abcdef0123456789abcdef\n"), LookupEnv: noEnv})
		if err != nil {
			t.Fatal(err)
		}
		if c.Secret != "0123456789abcdef0123456789abcdef" {
			t.Fatalf("secret not read: %q", c.Secret)
		}
	})
	t.Run("secret in env is fine without opt-in", func(t *testing.T) {
		if _, err := Load(Sources{LookupEnv: envOf(map[string]string{"SESAME_SECRET": "x"})}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestValidationNamesTheSetting(t *testing.T) {
	tests := []struct {
		name  string
		env   string
		value string
		want  string // substring of the error besides the env name
	}{
		{"duration", "SESAME_ACCESS_TOKEN_LIFETIME", "abc", `invalid SESAME_ACCESS_TOKEN_LIFETIME "abc": time: invalid duration`},
		{"zero access lifetime", "SESAME_ACCESS_TOKEN_LIFETIME", "0s", "greater than 0"},
		{"negative refresh lifetime", "SESAME_REFRESH_TOKEN_LIFETIME", "-1h", "greater than 0"},
		{"zero id lifetime", "SESAME_ID_TOKEN_LIFETIME", "0", "greater than 0"},
		{"zero code lifetime", "SESAME_AUTH_CODE_LIFETIME", "0m", "greater than 0"},
		{"zero shutdown", "SESAME_SHUTDOWN_TIMEOUT", "0s", "greater than 0"},
		{"negative grace", "SESAME_REFRESH_REUSE_GRACE", "-1s", "negative"},
		{"negative rotation", "SESAME_KEY_ROTATION_INTERVAL", "-1h", "negative"},
		{"bool", "SESAME_ROTATE_REFRESH_TOKENS", "yes please", "true or false"},
		{"auto migrate bool", "SESAME_AUTO_MIGRATE", "maybe", "true or false"},
		{"issuer relative", "SESAME_ISSUER", "auth.example.com", "absolute URL"},
		{"issuer http remote", "SESAME_ISSUER", "http://auth.example.com", "https"},
		{"issuer query", "SESAME_ISSUER", "https://auth.example.com/?a=b", "query or fragment"},
		{"issuer fragment", "SESAME_ISSUER", "https://auth.example.com/#x", "query or fragment"},
		{"issuer scheme", "SESAME_ISSUER", "ftp://auth.example.com", "https"},
		{"issuer userinfo", "SESAME_ISSUER", "https://u:p@auth.example.com", "user information"},
		{"listen", "SESAME_LISTEN", "8080", "SESAME_LISTEN"},
		{"listen port", "SESAME_LISTEN", "127.0.0.1:http-ish", "port"},
		{"database scheme", "SESAME_DATABASE_URL", "mysql://x", "unknown scheme"},
		{"database empty sqlite", "SESAME_DATABASE_URL", "sqlite:", "file path"},
		{"database memory", "SESAME_DATABASE_URL", "sqlite::memory:", "in-memory"},
		{"token format", "SESAME_ACCESS_TOKEN_FORMAT", "xml", "jwt or opaque"},
		{"id alg", "SESAME_ID_TOKEN_SIGNING_ALG", "HS256", "RS256"},
		{"at alg", "SESAME_ACCESS_TOKEN_SIGNING_ALG", "none", "ES256"},
		{"rsa bits small", "SESAME_RSA_KEY_BITS", "1024", "between 2048"},
		{"rsa bits text", "SESAME_RSA_KEY_BITS", "big", "integer"},
		{"argon2 memory", "SESAME_ARGON2_MEMORY_KIB", "1024", "OWASP"},
		{"argon2 iterations", "SESAME_ARGON2_ITERATIONS", "0", "at least 1"},
		{"argon2 parallelism", "SESAME_ARGON2_PARALLELISM", "0", "at least 1"},
		{"argon2 parallelism overflow", "SESAME_ARGON2_PARALLELISM", "300", "integer"},
		{"log format", "SESAME_LOG_FORMAT", "xml", "text or json"},
		{"log level", "SESAME_LOG_LEVEL", "verbose", "debug"},
		{"tls half", "SESAME_TLS_CERT", "/tmp/cert.pem", "SESAME_TLS_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, src := range []struct {
				name string
				s    Sources
			}{
				{"env", Sources{LookupEnv: envOf(map[string]string{tt.env: tt.value})}},
				{"flag", Sources{LookupEnv: noEnv, Flags: map[string]string{tt.env: tt.value}}},
			} {
				_, err := Load(src.s)
				if err == nil {
					t.Fatalf("%s: want an error", src.name)
				}
				wantEnv := tt.env
				if tt.env == "SESAME_TLS_CERT" {
					wantEnv = "SESAME_TLS_KEY"
				}
				if !strings.Contains(err.Error(), wantEnv) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("%s: error %q should name %s and contain %q", src.name, err, wantEnv, tt.want)
				}
			}
		})
	}
}

func TestArgon2AlternativesAccepted(t *testing.T) {
	// OWASP's equivalent alternatives: more memory, fewer passes.
	c, err := Load(Sources{LookupEnv: envOf(map[string]string{"SESAME_ARGON2_MEMORY_KIB": "47104", "SESAME_ARGON2_ITERATIONS": "1"})})
	if err != nil {
		t.Fatal(err)
	}
	if c.Argon2MemoryKiB != 47104 {
		t.Fatalf("memory %d", c.Argon2MemoryKiB)
	}
	if _, err := Load(Sources{LookupEnv: envOf(map[string]string{"SESAME_ARGON2_MEMORY_KIB": "19456", "SESAME_ARGON2_ITERATIONS": "1"})}); err == nil {
		t.Fatal("19456 KiB × 1 is below the OWASP floor and must be refused")
	}
}

func TestIssuerNormalised(t *testing.T) {
	for in, want := range map[string]string{
		"https://auth.example.com/":       "https://auth.example.com",
		"https://auth.example.com/tenant": "https://auth.example.com/tenant",
		"http://127.0.0.1:9000/":          "http://127.0.0.1:9000",
		"http://[::1]:9000":               "http://[::1]:9000",
	} {
		c, err := Load(Sources{LookupEnv: envOf(map[string]string{"SESAME_ISSUER": in})})
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if c.Issuer != want {
			t.Errorf("%s → %q, want %q", in, c.Issuer, want)
		}
	}
}

func TestSecretValueNeverEchoed(t *testing.T) {
	// A secret with a bad value cannot fail parsing (it is a plain string),
	// but conflicting sources must not print it either.
	c := Default()
	c.Secret = "super-secret-value-that-must-not-leak"
	c.SecretFile = "/x"
	err := c.Validate()
	if err == nil || strings.Contains(err.Error(), "super-secret") {
		t.Fatalf("want an error without the secret, got %v", err)
	}
}

func TestDatabaseURLPasswordRedacted(t *testing.T) {
	_, err := Load(Sources{LookupEnv: envOf(map[string]string{"SESAME_DATABASE_URL": "mysql://u:hunter2@db/x"})})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("want an error without the password, got %v", err)
	}
}

func TestScopeDescriptions(t *testing.T) {
	c := Default()
	c.ScopeDescriptions = " api:read = Read your orders ; api:write=Change your orders;"
	got, err := c.ScopeTexts()
	if err != nil || len(got) != 2 || got["api:read"] != "Read your orders" || got["api:write"] != "Change your orders" {
		t.Fatalf("ScopeTexts = %v, %v", got, err)
	}
	for _, bad := range []string{"api:read", "=text", "api:read=", "a b=x", "x=1;x=2", "x=" + strings.Repeat("a", 201)} {
		c.ScopeDescriptions = bad
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "SESAME_SCOPE_DESCRIPTIONS") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

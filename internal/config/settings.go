package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Setting describes one configuration setting. The same description drives
// the environment variable, the YAML key, the command-line flag and the
// README's table, so the four cannot drift apart.
type Setting struct {
	Env     string // SESAME_ACCESS_TOKEN_LIFETIME
	Default string // "15m"
	Usage   string // one line for --help and the README
	// Kind is the value's type, shown in --help (duration, bool, int,
	// float, string).
	Kind Kind
	// Secret settings are never echoed back in error messages.
	Secret bool
	set    func(c *Config, v string) error
}

// Kind names a setting's value type.
type Kind string

// The kinds of settings.
const (
	KindString   Kind = "string"
	KindBool     Kind = "bool"
	KindDuration Kind = "duration"
	KindInt      Kind = "int"
	KindFloat    Kind = "float"
)

// Check parses v as this setting's value without keeping it, so a flag
// can reject a malformed value at once, naming itself.
func (s Setting) Check(v string) error {
	var c Config
	return s.set(&c, v)
}

// Key is the YAML key: the env name without the prefix, in lower snake case.
func (s Setting) Key() string { return strings.ToLower(strings.TrimPrefix(s.Env, "SESAME_")) }

// Flag is the command-line flag name: the YAML key with dashes.
func (s Setting) Flag() string { return strings.ReplaceAll(s.Key(), "_", "-") }

func str(f func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *f(c) = strings.TrimSpace(v); return nil }
}

func rawStr(f func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *f(c) = v; return nil }
}

func dur(f func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return err
		}
		*f(c) = d
		return nil
	}
}

func boolean(f func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("must be true or false")
		}
		*f(c) = b
		return nil
	}
}

func integer(bits int, f func(*Config, uint64)) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, bits)
		if err != nil {
			return fmt.Errorf("must be a non-negative integer below 2^%d", bits)
		}
		f(c, n)
		return nil
	}
}

func float(f func(*Config) *float64) func(*Config, string) error {
	return func(c *Config, v string) error {
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || x < 0 {
			return fmt.Errorf("must be a non-negative number")
		}
		*f(c) = x
		return nil
	}
}

// settings is the table of every setting, in README order.
var settings = []Setting{
	{Env: "SESAME_ISSUER", Default: "http://localhost:8080", Usage: "issuer URL; https required except for localhost/127.0.0.1/[::1]",
		Kind: KindString, set: str(func(c *Config) *string { return &c.Issuer })},
	{Env: "SESAME_LISTEN", Default: "127.0.0.1:8080", Usage: "listen address (host:port)",
		Kind: KindString, set: str(func(c *Config) *string { return &c.Listen })},
	{Env: "SESAME_DATABASE_URL", Default: "sqlite:sesame.db", Usage: "store: postgres://… or sqlite:PATH",
		Kind: KindString, set: str(func(c *Config) *string { return &c.DatabaseURL })},
	{Env: "SESAME_DATABASE_LISTEN_URL", Default: "", Usage: "direct Postgres connection for LISTEN/NOTIFY, advisory locks and migrations when SESAME_DATABASE_URL goes through PgBouncer in transaction mode",
		Kind: KindString, set: str(func(c *Config) *string { return &c.DatabaseListenURL })},
	{Env: "SESAME_SECRET", Default: "", Secret: true, Usage: "system secret(s), ≥ 32 bytes each, comma-separated: first is current, the rest are old ones still accepted",
		Kind: KindString, set: rawStr(func(c *Config) *string { return &c.Secret })},
	{Env: "SESAME_SECRET_FILE", Default: "", Usage: "file holding the system secret(s), one per line (first is current); generated beside a SQLite DB when neither is set",
		Kind: KindString, set: str(func(c *Config) *string { return &c.SecretFile })},
	{Env: "SESAME_ALLOW_SECRET_IN_CONFIG", Default: "false", Usage: "accept `secret:` in the YAML file (off: secrets belong in env or a secret file)",
		Kind: KindBool, set: boolean(func(c *Config) *bool { return &c.AllowSecretInConfig })},
	{Env: "SESAME_TLS_CERT", Default: "", Usage: "PEM certificate file: serve HTTPS directly (with SESAME_TLS_KEY)",
		Kind: KindString, set: str(func(c *Config) *string { return &c.TLSCert })},
	{Env: "SESAME_TLS_KEY", Default: "", Usage: "PEM private key file for SESAME_TLS_CERT",
		Kind: KindString, set: str(func(c *Config) *string { return &c.TLSKey })},
	{Env: "SESAME_ACCESS_TOKEN_LIFETIME", Default: "15m", Usage: "access token lifetime",
		Kind: KindDuration, set: dur(func(c *Config) *time.Duration { return &c.AccessTokenLifetime })},
	{Env: "SESAME_REFRESH_TOKEN_LIFETIME", Default: "720h", Usage: "refresh token lifetime",
		Kind: KindDuration, set: dur(func(c *Config) *time.Duration { return &c.RefreshTokenLifetime })},
	{Env: "SESAME_ID_TOKEN_LIFETIME", Default: "1h", Usage: "ID token lifetime",
		Kind: KindDuration, set: dur(func(c *Config) *time.Duration { return &c.IDTokenLifetime })},
	{Env: "SESAME_AUTH_CODE_LIFETIME", Default: "10m", Usage: "authorization code lifetime",
		Kind: KindDuration, set: dur(func(c *Config) *time.Duration { return &c.AuthCodeLifetime })},
	{Env: "SESAME_SESSION_IDLE_TIMEOUT", Default: "8h", Usage: "browser sign-in session ends after this long unused",
		Kind: KindDuration, set: dur(func(c *Config) *time.Duration { return &c.SessionIdleTimeout })},
	{Env: "SESAME_SESSION_LIFETIME", Default: "168h", Usage: "browser sign-in session ends this long after the sign-in, used or not",
		Kind: KindDuration, set: dur(func(c *Config) *time.Duration { return &c.SessionLifetime })},
	{Env: "SESAME_ROTATE_REFRESH_TOKENS", Default: "true", Usage: "rotate refresh tokens on use; reuse of a rotated token revokes the whole family",
		Kind: KindBool, set: boolean(func(c *Config) *bool { return &c.RotateRefreshTokens })},
	{Env: "SESAME_REFRESH_REUSE_GRACE", Default: "10s", Usage: "a just-rotated refresh token presented again within this window gets the same successor pair (0 = strict: any reuse revokes the family)",
		Kind: KindDuration, set: dur(func(c *Config) *time.Duration { return &c.RefreshReuseGrace })},
	{Env: "SESAME_REVOCATION_CACHE_TTL", Default: "1s", Usage: "longest a revocation made by another process without a notification (SQLite, the CLI) takes to reach introspection (0 = no cache)",
		Kind: KindDuration, set: dur(func(c *Config) *time.Duration { return &c.RevocationCacheTTL })},
	{Env: "SESAME_ACCESS_TOKEN_FORMAT", Default: "jwt", Usage: "jwt (RFC 9068) or opaque; a client may override",
		Kind: KindString, set: str(func(c *Config) *string { return &c.AccessTokenFormat })},
	{Env: "SESAME_ID_TOKEN_SIGNING_ALG", Default: "RS256", Usage: "ID token signing algorithm: RS256, ES256, EdDSA or PS256",
		Kind: KindString, set: str(func(c *Config) *string { return &c.IDTokenSigningAlg })},
	{Env: "SESAME_ACCESS_TOKEN_SIGNING_ALG", Default: "ES256", Usage: "JWT access token signing algorithm: ES256, EdDSA, RS256 or PS256",
		Kind: KindString, set: str(func(c *Config) *string { return &c.AccessTokenSigningAlg })},
	{Env: "SESAME_KEY_ROTATION_INTERVAL", Default: "2160h", Usage: "automatic signing-key rotation interval (0 = manual only)",
		Kind: KindDuration, set: dur(func(c *Config) *time.Duration { return &c.KeyRotationInterval })},
	{Env: "SESAME_RSA_KEY_BITS", Default: "2048", Usage: "size of generated RSA signing keys (≥ 2048)",
		Kind: KindInt, set: integer(32, func(c *Config, n uint64) { c.RSAKeyBits = int(n) })},
	{Env: "SESAME_ARGON2_MEMORY_KIB", Default: "19456", Usage: "argon2id memory per password hash, KiB (OWASP minimum 19456 with 2 iterations)",
		Kind: KindInt, set: integer(32, func(c *Config, n uint64) { c.Argon2MemoryKiB = uint32(n) })},
	{Env: "SESAME_ARGON2_ITERATIONS", Default: "2", Usage: "argon2id iterations",
		Kind: KindInt, set: integer(32, func(c *Config, n uint64) { c.Argon2Iterations = uint32(n) })},
	{Env: "SESAME_ARGON2_PARALLELISM", Default: "1", Usage: "argon2id lanes",
		Kind: KindInt, set: integer(8, func(c *Config, n uint64) { c.Argon2Parallelism = uint8(n) })},
	{Env: "SESAME_PASSWORD_MIN_LENGTH", Default: "8", Usage: "shortest password accepted when one is set (web, CLI, admin API), in characters",
		Kind: KindInt, set: integer(31, func(c *Config, n uint64) { c.PasswordMinLength = int(n) })},
	{Env: "SESAME_MFA", Default: "optional", Usage: "second factors: optional (users may enrol) or required (a user without one enrols at the next sign-in before any code is issued)",
		Kind: KindString, set: str(func(c *Config) *string { return &c.MFA })},
	{Env: "SESAME_WEBAUTHN_RP_ID", Default: "", Usage: "WebAuthn relying-party id of passkeys (a registrable suffix of the issuer's host); empty: the issuer's host",
		Kind: KindString, set: str(func(c *Config) *string { return &c.WebAuthnRPID })},
	{Env: "SESAME_SIGNUP", Default: "off", Usage: "self-service sign-up at /signup: off, open (anyone) or invite (only with an invitation link)",
		Kind: KindString, set: str(func(c *Config) *string { return &c.Signup })},
	{Env: "SESAME_SMTP_URL", Default: "", Secret: true, Usage: "outgoing mail server: smtp://user:pass@host:587 (STARTTLS required) or smtps://user:pass@host:465 (implicit TLS); empty: mail stays in the store (loopback issuer) or is not configured",
		Kind: KindString, set: rawStr(func(c *Config) *string { return &c.SMTPURL })},
	{Env: "SESAME_SMTP_PASSWORD_FILE", Default: "", Usage: "file holding the SMTP password (replaces the one in SESAME_SMTP_URL; one line)",
		Kind: KindString, set: str(func(c *Config) *string { return &c.SMTPPasswordFile })},
	{Env: "SESAME_MAIL_FROM", Default: "", Usage: "sender address of outgoing mail (required with SESAME_SMTP_URL; empty: sesame@ the issuer's host)",
		Kind: KindString, set: str(func(c *Config) *string { return &c.MailFrom })},
	{Env: "SESAME_REQUIRE_VERIFIED_EMAIL", Default: "false", Usage: "refuse sign-in until the user has verified their email address (the sign-in page offers to resend the link)",
		Kind: KindBool, set: boolean(func(c *Config) *bool { return &c.RequireVerifiedEmail })},
	{Env: "SESAME_EMAIL_LINK_LIFETIME", Default: "reset=1h,verify=24h,invite=24h", Usage: "how long emailed links work: one duration for all, or purpose=duration pairs (reset, verify, invite); unnamed purposes keep their default",
		Kind: KindString, set: linkLifetimes},
	{Env: "SESAME_AUTO_MIGRATE", Default: "true", Usage: "apply pending schema migrations at start-up (serve --no-migrate turns it off)",
		Kind: KindBool, set: boolean(func(c *Config) *bool { return &c.AutoMigrate })},
	{Env: "SESAME_OPEN_REGISTRATION", Default: "false", Usage: "allow dynamic client registration without an initial access token",
		Kind: KindBool, set: boolean(func(c *Config) *bool { return &c.OpenRegistration })},
	{Env: "SESAME_REGISTRATION_AUDIENCES", Default: "", Usage: "comma-separated URIs of registered APIs (sesame resources) that every dynamically registered client may ask for with resource= (MCP clients register themselves; empty: none)",
		Kind: KindString, set: str(func(c *Config) *string { return &c.RegistrationAudiences })},
	{Env: "SESAME_REQUIRE_PUSHED_AUTHORIZATION_REQUESTS", Default: "false", Usage: "every client must push its authorization requests to /oauth2/par first (RFC 9126); a client may require it for itself alone",
		Kind: KindBool, set: boolean(func(c *Config) *bool { return &c.RequirePushedAuthorizationRequests })},
	{Env: "SESAME_DPOP_NONCES", Default: "false", Usage: "DPoP proofs at the token endpoint and /userinfo must carry a server nonce (RFC 9449 §8): a proof without the current one is refused with use_dpop_nonce and a DPoP-Nonce header to retry with; nonces change every 5 minutes and every instance with the same SESAME_SECRET accepts them",
		Kind: KindBool, set: boolean(func(c *Config) *bool { return &c.DPoPNonces })},
	{Env: "SESAME_CLIENT_ID_METADATA_DOCUMENTS", Default: "true", Usage: "accept an https URL as client_id and fetch the client's metadata document from it (SSRF-guarded: public addresses only, 5 s, 5 KiB)",
		Kind: KindBool, set: boolean(func(c *Config) *bool { return &c.ClientIDMetadataDocuments })},
	{Env: "SESAME_DEMO", Default: "true", Usage: "on first start of an empty SQLite store, create a demo user and client and print them",
		Kind: KindBool, set: boolean(func(c *Config) *bool { return &c.Demo })},
	{Env: "SESAME_SHUTDOWN_TIMEOUT", Default: "15s", Usage: "how long in-flight requests may run after SIGTERM",
		Kind: KindDuration, set: dur(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
	{Env: "SESAME_SHUTDOWN_DELAY", Default: "5s", Usage: "after SIGTERM, keep serving this long while /readyz answers 503 so load balancers stop sending requests, then drain (0 = drain at once)",
		Kind: KindDuration, set: dur(func(c *Config) *time.Duration { return &c.ShutdownDelay })},
	{Env: "SESAME_TRUSTED_PROXIES", Default: "", Usage: "comma-separated IPs/CIDRs of reverse proxies whose X-Forwarded-For is believed (empty: none)",
		Kind: KindString, set: str(func(c *Config) *string { return &c.TrustedProxies })},
	{Env: "SESAME_RATE_LIMIT_ENABLED", Default: "true", Usage: "per-client-IP request rate limits on the public endpoints (429 + Retry-After); false for benchmarks",
		Kind: KindBool, set: boolean(func(c *Config) *bool { return &c.RateLimitEnabled })},
	{Env: "SESAME_RATE_LIMIT_API_RPS", Default: "50", Usage: "sustained requests/s per IP on token, introspect, revoke, userinfo, discovery",
		Kind: KindFloat, set: float(func(c *Config) *float64 { return &c.RateLimitAPIRPS })},
	{Env: "SESAME_RATE_LIMIT_API_BURST", Default: "100", Usage: "burst per IP on those endpoints",
		Kind: KindInt, set: integer(31, func(c *Config, n uint64) { c.RateLimitAPIBurst = int(n) })},
	{Env: "SESAME_RATE_LIMIT_BROWSER_RPS", Default: "8", Usage: "sustained requests/s per IP on authorize, login, consent, account, logout",
		Kind: KindFloat, set: float(func(c *Config) *float64 { return &c.RateLimitBrowserRPS })},
	{Env: "SESAME_RATE_LIMIT_BROWSER_BURST", Default: "60", Usage: "burst per IP on those pages",
		Kind: KindInt, set: integer(31, func(c *Config, n uint64) { c.RateLimitBrowserBurst = int(n) })},
	{Env: "SESAME_BRUTE_FORCE_ENABLED", Default: "true", Usage: "lock accounts and IPs after repeated failed sign-ins (counters in the store)",
		Kind: KindBool, set: boolean(func(c *Config) *bool { return &c.BruteForceEnabled })},
	{Env: "SESAME_BRUTE_FORCE_MAX_FAILURES", Default: "5", Usage: "consecutive failures before an account is locked",
		Kind: KindInt, set: integer(31, func(c *Config, n uint64) { c.BruteForceMaxFailures = int(n) })},
	{Env: "SESAME_BRUTE_FORCE_BASE_LOCK", Default: "30s", Usage: "first lock; doubles with each further failure",
		Kind: KindDuration, set: dur(func(c *Config) *time.Duration { return &c.BruteForceBaseLock })},
	{Env: "SESAME_BRUTE_FORCE_MAX_LOCK", Default: "15m", Usage: "longest lock",
		Kind: KindDuration, set: dur(func(c *Config) *time.Duration { return &c.BruteForceMaxLock })},
	{Env: "SESAME_MAX_BODY_BYTES", Default: "65536", Usage: "largest accepted request body on the public endpoints (413 above)",
		Kind: KindInt, set: integer(31, func(c *Config, n uint64) { c.MaxBodyBytes = int64(n) })},
	{Env: "SESAME_JANITOR_INTERVAL", Default: "10m", Usage: "how often expired codes, tokens, sessions, flows and denylist entries are deleted (0 = never); one instance at a time",
		Kind: KindDuration, set: dur(func(c *Config) *time.Duration { return &c.JanitorInterval })},
	{Env: "SESAME_JANITOR_BATCH", Default: "1000", Usage: "rows deleted per statement by the janitor",
		Kind: KindInt, set: integer(32, func(c *Config, n uint64) { c.JanitorBatch = int(n) })},
	{Env: "SESAME_JANITOR_GRACE", Default: "5m", Usage: "how long past expiry a row is kept before the janitor deletes it (absorbs clock skew between instances)",
		Kind: KindDuration, set: dur(func(c *Config) *time.Duration { return &c.JanitorGrace })},
	{Env: "SESAME_AUDIT_RETENTION", Default: "2160h", Usage: "audit events older than this are deleted by the janitor (0 = keep forever)",
		Kind: KindDuration, set: dur(func(c *Config) *time.Duration { return &c.AuditRetention })},
	{Env: "SESAME_METRICS", Default: "true", Usage: "serve Prometheus metrics at /metrics",
		Kind: KindBool, set: boolean(func(c *Config) *bool { return &c.Metrics })},
	{Env: "SESAME_METRICS_LISTEN", Default: "", Usage: "serve /metrics on this host:port only (e.g. 127.0.0.1:9090), not on SESAME_LISTEN; empty: on SESAME_LISTEN",
		Kind: KindString, set: str(func(c *Config) *string { return &c.MetricsListen })},
	{Env: "SESAME_SCOPE_DESCRIPTIONS", Default: "", Usage: "consent-page words for custom scopes: scope=text pairs separated by ';' (e.g. api:read=Read your orders;api:write=Change your orders)",
		Kind: KindString, set: str(func(c *Config) *string { return &c.ScopeDescriptions })},
	{Env: "SESAME_THEME_DIR", Default: "", Usage: "directory whose templates/, static/sesame.css, static/logo.svg|png and messages/<lang>.json override the built-in pages (the product name is the message brand)",
		Kind: KindString, set: str(func(c *Config) *string { return &c.ThemeDir })},
	{Env: "SESAME_LOG_FORMAT", Default: "text", Usage: "log format: text or json",
		Kind: KindString, set: str(func(c *Config) *string { return &c.LogFormat })},
	{Env: "SESAME_LOG_LEVEL", Default: "info", Usage: "log level: debug, info, warn or error",
		Kind: KindString, set: str(func(c *Config) *string { return &c.LogLevel })},
}

// Settings returns every setting, in documentation order.
func Settings() []Setting { return append([]Setting(nil), settings...) }

// Lookup returns the setting with the given env name.
func Lookup(env string) (Setting, bool) {
	for _, s := range settings {
		if s.Env == env {
			return s, true
		}
	}
	return Setting{}, false
}

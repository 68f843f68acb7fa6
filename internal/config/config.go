package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is every setting of the server and the CLI. The zero value is not
// useful: build one with Default or Load.
type Config struct {
	Issuer      string
	Listen      string
	DatabaseURL string
	// DatabaseListenURL is a direct Postgres connection for LISTEN/NOTIFY,
	// session advisory locks and migrations, for a DatabaseURL that goes
	// through a transaction pooler (PgBouncer).
	DatabaseListenURL string

	// Secret is the raw SESAME_SECRET value (comma-separated secrets);
	// SecretFile names a file with one secret per line. Resolve both with
	// Keyring, never read them directly.
	Secret              string
	SecretFile          string
	AllowSecretInConfig bool

	TLSCert string
	TLSKey  string

	AccessTokenLifetime  time.Duration
	RefreshTokenLifetime time.Duration
	SessionIdleTimeout   time.Duration // browser login session: unused this long ends it
	SessionLifetime      time.Duration // browser login session: absolute end after sign-in
	IDTokenLifetime      time.Duration
	AuthCodeLifetime     time.Duration
	RotateRefreshTokens  bool
	RefreshReuseGrace    time.Duration
	// RevocationCacheTTL bounds how long introspection trusts a "not
	// revoked" it read (0 = off); see oauth.Config.RevocationCacheTTL.
	RevocationCacheTTL time.Duration

	AccessTokenFormat     string // jwt | opaque
	IDTokenSigningAlg     string
	AccessTokenSigningAlg string
	KeyRotationInterval   time.Duration // 0 = manual rotation only
	RSAKeyBits            int

	Argon2MemoryKiB   uint32
	Argon2Iterations  uint32
	Argon2Parallelism uint8
	PasswordMinLength int // characters; the one policy of internal/app

	// MFA is the second-factor policy: optional | required.
	MFA string
	// WebAuthnRPID is the passkeys' relying-party id ("" = issuer host).
	WebAuthnRPID string

	// Accounts (SPEC part two): Signup is off | open | invite. With no
	// SMTPURL mail stays in the store (MailDelivery).
	Signup               string
	SMTPURL              string
	SMTPPasswordFile     string
	MailFrom             string
	RequireVerifiedEmail bool
	// Link lifetimes from SESAME_EMAIL_LINK_LIFETIME.
	ResetLinkLifetime  time.Duration
	VerifyLinkLifetime time.Duration
	InviteLinkLifetime time.Duration

	AutoMigrate      bool
	OpenRegistration bool
	// RegistrationAudiences (comma-separated resource URIs) become the
	// audience of every client registered through RFC 7591, so a
	// self-registered client (an MCP client) may ask for those APIs with
	// `resource`; RegistrationAudienceList parses it.
	RegistrationAudiences string
	// RequirePushedAuthorizationRequests: every authorization request
	// must come through PAR (RFC 9126).
	RequirePushedAuthorizationRequests bool
	// DPoPNonces makes DPoP proofs carry a server nonce (RFC 9449 §8) at
	// the token endpoint and /userinfo.
	DPoPNonces bool
	// ClientIDMetadataDocuments: a client_id that is an https URL is
	// resolved by fetching its metadata document (internal/cimd).
	ClientIDMetadataDocuments bool
	Demo                      bool
	ShutdownTimeout           time.Duration
	ShutdownDelay             time.Duration // serve on with /readyz 503 before draining

	TrustedProxies        string // comma-separated IPs/CIDRs
	RateLimitEnabled      bool
	RateLimitAPIRPS       float64
	RateLimitAPIBurst     int
	RateLimitBrowserRPS   float64
	RateLimitBrowserBurst int
	BruteForceEnabled     bool
	BruteForceMaxFailures int
	BruteForceBaseLock    time.Duration
	BruteForceMaxLock     time.Duration
	MaxBodyBytes          int64

	// Janitor: expired-row deletion (internal/janitor). A zero
	// JanitorInterval turns it off; a zero AuditRetention keeps audit
	// events forever.
	JanitorInterval time.Duration
	JanitorBatch    int
	JanitorGrace    time.Duration
	AuditRetention  time.Duration
	// Metrics serves Prometheus metrics at /metrics.
	Metrics bool
	// MetricsListen, when set, serves /metrics on its own listener (and
	// not on Listen).
	MetricsListen string

	// ScopeDescriptions is the raw SESAME_SCOPE_DESCRIPTIONS; read it
	// with ScopeTexts.
	ScopeDescriptions string
	// ThemeDir overrides the web pages' templates, stylesheet, logo and
	// texts (web/ui.LoadTheme); "" for the built-in look.
	ThemeDir string

	LogFormat string // text | json
	LogLevel  string // debug | info | warn | error

	// Upstreams are the other providers users may sign in through (only
	// from the YAML file; see upstreams.go).
	Upstreams []Upstream
}

// Limits of SESAME_SCOPE_DESCRIPTIONS: it is shown on every consent page.
const (
	maxScopeDescriptions    = 200
	maxScopeDescriptionText = 200
)

// ScopeTexts parses SESAME_SCOPE_DESCRIPTIONS ("api:read=Read your
// orders;api:write=Change them") into scope → text.
func (c Config) ScopeTexts() (map[string]string, error) {
	out := map[string]string{}
	for _, pair := range strings.Split(c.ScopeDescriptions, ";") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		scope, text, ok := strings.Cut(pair, "=")
		scope, text = strings.TrimSpace(scope), strings.TrimSpace(text)
		switch {
		case !ok || scope == "" || text == "":
			return nil, fmt.Errorf("invalid SESAME_SCOPE_DESCRIPTIONS: %q is not scope=text", pair)
		case strings.ContainsAny(scope, " \t\""):
			return nil, fmt.Errorf("invalid SESAME_SCOPE_DESCRIPTIONS: scope %q contains a space or quote", scope)
		case len(text) > maxScopeDescriptionText:
			return nil, fmt.Errorf("invalid SESAME_SCOPE_DESCRIPTIONS: text for %s is longer than %d bytes", scope, maxScopeDescriptionText)
		}
		if _, dup := out[scope]; dup {
			return nil, fmt.Errorf("invalid SESAME_SCOPE_DESCRIPTIONS: %s given twice", scope)
		}
		out[scope] = text
		if len(out) > maxScopeDescriptions {
			return nil, fmt.Errorf("invalid SESAME_SCOPE_DESCRIPTIONS: more than %d scopes", maxScopeDescriptions)
		}
	}
	return out, nil
}

// Default returns the built-in defaults (already valid).
func Default() Config {
	var c Config
	for _, s := range settings {
		if err := s.set(&c, s.Default); err != nil {
			panic(fmt.Sprintf("config: bad default for %s: %v", s.Env, err))
		}
	}
	return c
}

// Sources are the inputs of Load, lowest precedence first.
type Sources struct {
	// File is the optional YAML file (--config); "" for none.
	File string
	// LookupEnv reads the environment; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Flags holds the values of flags the user actually set, keyed by the
	// setting's env name (SESAME_LISTEN → "127.0.0.1:9000").
	Flags map[string]string
}

// Load builds the configuration: defaults, then the YAML file, then SESAME_*
// environment variables, then flags; then Validate.
func Load(src Sources) (Config, error) {
	c := Default()
	fromFile := map[string]string{}
	if src.File != "" {
		var err error
		if fromFile, c.Upstreams, err = readFile(src.File); err != nil {
			return Config{}, err
		}
	}
	lookup := src.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if err := resolveUpstreamSecrets(c.Upstreams, lookup); err != nil {
		return Config{}, err
	}
	for _, s := range settings {
		v, ok := fromFile[s.Env]
		if ev, set := lookup(s.Env); set {
			v, ok = ev, true
		}
		if fv, set := src.Flags[s.Env]; set {
			v, ok = fv, true
		}
		if !ok {
			continue
		}
		if err := s.set(&c, v); err != nil {
			if s.Secret {
				return Config{}, fmt.Errorf("invalid %s: %w", s.Env, err)
			}
			return Config{}, fmt.Errorf("invalid %s %q: %w", s.Env, v, err)
		}
	}
	for env := range src.Flags {
		if _, ok := Lookup(env); !ok {
			return Config{}, fmt.Errorf("config: unknown setting %s", env)
		}
	}
	// A secret in a file that is usually checked in or world-readable is a
	// leak waiting to happen; make the operator say they mean it.
	if _, ok := fromFile["SESAME_SECRET"]; ok && !c.AllowSecretInConfig {
		return Config{}, fmt.Errorf("config file %s: secret is refused in a config file (use SESAME_SECRET, SESAME_SECRET_FILE or set allow_secret_in_config: true)", src.File)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// readFile parses the YAML file into env-name → string value, and the
// `upstreams:` list.
func readFile(path string) (map[string]string, []Upstream, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("config file: %w", err)
	}
	out := map[string]string{}
	if len(bytes.TrimSpace(data)) == 0 {
		return out, nil, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("config file %s: %w", path, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("config file %s: must be a mapping of setting: value", path)
	}
	m := doc.Content[0]
	var ups []Upstream
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Value == "upstreams" {
			if ups != nil {
				return nil, nil, fmt.Errorf("config file %s line %d: upstreams given twice", path, k.Line)
			}
			if ups, err = parseUpstreams(path, v); err != nil {
				return nil, nil, err
			}
			continue
		}
		var found *Setting
		for j := range settings {
			if settings[j].Key() == k.Value {
				found = &settings[j]
				break
			}
		}
		if found == nil {
			return nil, nil, fmt.Errorf("config file %s line %d: unknown key %q", path, k.Line, k.Value)
		}
		if v.Kind != yaml.ScalarNode {
			return nil, nil, fmt.Errorf("config file %s line %d: %s must be a single value", path, v.Line, k.Value)
		}
		if _, dup := out[found.Env]; dup {
			return nil, nil, fmt.Errorf("config file %s line %d: %s given twice", path, k.Line, k.Value)
		}
		out[found.Env] = v.Value
	}
	return out, ups, nil
}

var (
	tokenAlgs = []string{"RS256", "ES256", "EdDSA", "PS256"}
	logLevels = []string{"debug", "info", "warn", "error"}
)

// Validate checks every setting and normalises the issuer (trailing slash
// stripped). Errors name the setting.
func (c *Config) Validate() error {
	iss, err := normalizeIssuer(c.Issuer)
	if err != nil {
		return fmt.Errorf("invalid SESAME_ISSUER %q: %w", c.Issuer, err)
	}
	c.Issuer = iss
	if err := checkListen(c.Listen); err != nil {
		return fmt.Errorf("invalid SESAME_LISTEN %q: %w", c.Listen, err)
	}
	if c.MetricsListen != "" {
		if err := checkListen(c.MetricsListen); err != nil {
			return fmt.Errorf("invalid SESAME_METRICS_LISTEN %q: %w", c.MetricsListen, err)
		}
		if c.MetricsListen == c.Listen {
			return fmt.Errorf("invalid SESAME_METRICS_LISTEN %q: must differ from SESAME_LISTEN", c.MetricsListen)
		}
	}
	if err := c.validateProtection(); err != nil {
		return err
	}
	if err := c.validateRegistrationAudiences(); err != nil {
		return err
	}
	if err := checkDatabaseURL(c.DatabaseURL); err != nil {
		return fmt.Errorf("invalid SESAME_DATABASE_URL %q: %w", redactURL(c.DatabaseURL), err)
	}
	if c.DatabaseListenURL != "" {
		if _, sqlite := c.SQLitePath(); sqlite {
			return errors.New("invalid SESAME_DATABASE_LISTEN_URL: only for a Postgres SESAME_DATABASE_URL")
		}
		if err := checkDatabaseURL(c.DatabaseListenURL); err != nil || strings.HasPrefix(c.DatabaseListenURL, "sqlite:") {
			return fmt.Errorf("invalid SESAME_DATABASE_LISTEN_URL %q: want a direct postgres:// URL or host=… string", redactURL(c.DatabaseListenURL))
		}
	}
	if c.Secret != "" && c.SecretFile != "" {
		return errors.New("invalid SESAME_SECRET_FILE: set only one of SESAME_SECRET and SESAME_SECRET_FILE")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("invalid SESAME_TLS_KEY: SESAME_TLS_CERT and SESAME_TLS_KEY must be set together")
	}
	for _, d := range []struct {
		env string
		v   time.Duration
	}{
		{"SESAME_ACCESS_TOKEN_LIFETIME", c.AccessTokenLifetime},
		{"SESAME_REFRESH_TOKEN_LIFETIME", c.RefreshTokenLifetime},
		{"SESAME_ID_TOKEN_LIFETIME", c.IDTokenLifetime},
		{"SESAME_AUTH_CODE_LIFETIME", c.AuthCodeLifetime},
		{"SESAME_SESSION_IDLE_TIMEOUT", c.SessionIdleTimeout},
		{"SESAME_SESSION_LIFETIME", c.SessionLifetime},
		{"SESAME_SHUTDOWN_TIMEOUT", c.ShutdownTimeout},
	} {
		if d.v <= 0 {
			return fmt.Errorf("invalid %s %q: must be greater than 0", d.env, d.v)
		}
	}
	if c.ShutdownDelay < 0 {
		return fmt.Errorf("invalid SESAME_SHUTDOWN_DELAY %q: must not be negative", c.ShutdownDelay)
	}
	if c.SessionIdleTimeout > c.SessionLifetime {
		return fmt.Errorf("invalid SESAME_SESSION_IDLE_TIMEOUT %q: must not exceed SESAME_SESSION_LIFETIME (%s)", c.SessionIdleTimeout, c.SessionLifetime)
	}
	if c.RefreshReuseGrace < 0 {
		return fmt.Errorf("invalid SESAME_REFRESH_REUSE_GRACE %q: must not be negative", c.RefreshReuseGrace)
	}
	if c.RevocationCacheTTL < 0 {
		return fmt.Errorf("invalid SESAME_REVOCATION_CACHE_TTL %q: must not be negative", c.RevocationCacheTTL)
	}
	for _, d := range []struct {
		env string
		v   time.Duration
	}{
		{"SESAME_JANITOR_INTERVAL", c.JanitorInterval},
		{"SESAME_JANITOR_GRACE", c.JanitorGrace},
		{"SESAME_AUDIT_RETENTION", c.AuditRetention},
	} {
		if d.v < 0 {
			return fmt.Errorf("invalid %s %q: must not be negative", d.env, d.v)
		}
	}
	if c.JanitorBatch < 1 || c.JanitorBatch > 100_000 {
		return fmt.Errorf("invalid SESAME_JANITOR_BATCH \"%d\": must be between 1 and 100000", c.JanitorBatch)
	}
	if c.KeyRotationInterval < 0 {
		return fmt.Errorf("invalid SESAME_KEY_ROTATION_INTERVAL %q: must not be negative (0 = manual)", c.KeyRotationInterval)
	}
	if c.MFA != "optional" && c.MFA != "required" {
		return fmt.Errorf("invalid SESAME_MFA %q: must be optional or required", c.MFA)
	}
	if err := c.checkRPID(); err != nil {
		return err
	}
	if err := c.validateMail(); err != nil {
		return err
	}
	if c.AccessTokenFormat != "jwt" && c.AccessTokenFormat != "opaque" {
		return fmt.Errorf("invalid SESAME_ACCESS_TOKEN_FORMAT %q: must be jwt or opaque", c.AccessTokenFormat)
	}
	if !oneOf(c.IDTokenSigningAlg, tokenAlgs) {
		return fmt.Errorf("invalid SESAME_ID_TOKEN_SIGNING_ALG %q: must be one of %s", c.IDTokenSigningAlg, strings.Join(tokenAlgs, ", "))
	}
	if !oneOf(c.AccessTokenSigningAlg, tokenAlgs) {
		return fmt.Errorf("invalid SESAME_ACCESS_TOKEN_SIGNING_ALG %q: must be one of %s", c.AccessTokenSigningAlg, strings.Join(tokenAlgs, ", "))
	}
	if c.RSAKeyBits < 2048 || c.RSAKeyBits > 8192 {
		return fmt.Errorf("invalid SESAME_RSA_KEY_BITS \"%d\": must be between 2048 and 8192", c.RSAKeyBits)
	}
	if err := c.checkArgon2(); err != nil {
		return err
	}
	if _, err := c.ScopeTexts(); err != nil {
		return err
	}
	if c.ThemeDir != "" {
		if st, err := os.Stat(c.ThemeDir); err != nil || !st.IsDir() {
			return fmt.Errorf("invalid SESAME_THEME_DIR %q: not a directory", c.ThemeDir)
		}
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("invalid SESAME_LOG_FORMAT %q: must be text or json", c.LogFormat)
	}
	if !oneOf(c.LogLevel, logLevels) {
		return fmt.Errorf("invalid SESAME_LOG_LEVEL %q: must be one of %s", c.LogLevel, strings.Join(logLevels, ", "))
	}
	return c.validateUpstreams()
}

// checkArgon2 enforces the OWASP password-storage floor for argon2id: at
// least 7 MiB of memory and a memory×time cost of at least that of the
// weakest recommended pair (m=7168 KiB, t=5), so an operator cannot make
// stolen hashes cheap to crack by mistake.
func (c *Config) checkArgon2() error {
	const minMemory, minCost = 7168, 7168 * 5
	switch {
	case c.PasswordMinLength < 1 || c.PasswordMinLength > 1024:
		return fmt.Errorf("invalid SESAME_PASSWORD_MIN_LENGTH \"%d\": must be between 1 and 1024", c.PasswordMinLength)
	case c.Argon2Parallelism < 1:
		return fmt.Errorf("invalid SESAME_ARGON2_PARALLELISM \"%d\": must be at least 1", c.Argon2Parallelism)
	case c.Argon2Iterations < 1:
		return fmt.Errorf("invalid SESAME_ARGON2_ITERATIONS \"%d\": must be at least 1", c.Argon2Iterations)
	case c.Argon2MemoryKiB < minMemory:
		return fmt.Errorf("invalid SESAME_ARGON2_MEMORY_KIB \"%d\": must be at least %d (OWASP minimum)", c.Argon2MemoryKiB, minMemory)
	case c.Argon2MemoryKiB > 4<<20:
		return fmt.Errorf("invalid SESAME_ARGON2_MEMORY_KIB \"%d\": must be at most %d (4 GiB)", c.Argon2MemoryKiB, 4<<20)
	case uint64(c.Argon2MemoryKiB)*uint64(c.Argon2Iterations) < minCost:
		return fmt.Errorf("invalid SESAME_ARGON2_ITERATIONS \"%d\": memory × iterations must be at least %d KiB (OWASP minimum, e.g. 19456 KiB × 2)", c.Argon2Iterations, minCost)
	}
	return nil
}

func oneOf(v string, set []string) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}

// IsLoopbackHost reports whether host (without port) is localhost or a
// loopback literal, where plain http is acceptable.
func IsLoopbackHost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

func normalizeIssuer(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("not a URL: %w", err)
	}
	if !u.IsAbs() || u.Host == "" {
		return "", errors.New("must be an absolute URL like https://auth.example.com")
	}
	// OpenID Connect Discovery 1.0 §3: the issuer has no query or fragment.
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#") {
		return "", errors.New("must not have a query or fragment")
	}
	if u.User != nil {
		return "", errors.New("must not contain user information")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !IsLoopbackHost(u.Hostname()) {
			return "", errors.New("must use https (http is allowed only for localhost, 127.0.0.1 and [::1])")
		}
	default:
		return "", fmt.Errorf("scheme %q: must be https", u.Scheme)
	}
	return strings.TrimRight(raw, "/"), nil
}

func checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("bad port: %w", err)
	}
	return nil
}

func checkDatabaseURL(raw string) error {
	if path, ok := strings.CutPrefix(raw, "sqlite:"); ok {
		switch {
		case path == "":
			return errors.New("sqlite: needs a file path, e.g. sqlite:sesame.db")
		case strings.Contains(path, ":memory:") || strings.HasPrefix(path, "file:"):
			// Every pooled connection would get its own empty in-memory DB.
			return errors.New("sqlite: needs a plain file path (in-memory and file: URIs are not supported)")
		case strings.ContainsRune(path, '?'):
			return errors.New("sqlite: path must not contain '?'")
		}
		return nil
	}
	if isKeywordDSN(raw) {
		return nil // libpq key=value form (host=h1,h2 port=5432,5432 …)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL (want postgres://… or sqlite:PATH)")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return fmt.Errorf("unknown scheme %q (want postgres://… or sqlite:PATH)", u.Scheme)
	}
	return nil
}

// SQLitePath returns the database file path when the store is SQLite.
func (c Config) SQLitePath() (string, bool) {
	return strings.CutPrefix(c.DatabaseURL, "sqlite:")
}

// RedactedDatabaseURL is DatabaseURL with any password masked, for logs
// and error messages.
func (c Config) RedactedDatabaseURL() string { return redactURL(c.DatabaseURL) }

// keywordDSN matches the start of a libpq key=value connection string;
// keywordPassword its password, quoted or not.
var (
	keywordDSN      = regexp.MustCompile(`^\s*[a-z_]+\s*=`)
	keywordPassword = regexp.MustCompile(`(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)
)

func isKeywordDSN(s string) bool { return !strings.Contains(s, "://") && keywordDSN.MatchString(s) }

func redactURL(raw string) string {
	if isKeywordDSN(raw) {
		return keywordPassword.ReplaceAllString(raw, "${1}xxxxx")
	}
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// validateProtection checks the rate-limit, brute-force and proxy settings.
func (c *Config) validateProtection() error {
	for _, p := range strings.Split(c.TrustedProxies, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			return fmt.Errorf("invalid SESAME_TRUSTED_PROXIES %q: %q is neither an IP nor a CIDR", c.TrustedProxies, p)
		}
	}
	if c.RateLimitEnabled {
		if c.RateLimitAPIRPS <= 0 || c.RateLimitAPIBurst < 1 {
			return fmt.Errorf("invalid SESAME_RATE_LIMIT_API_RPS/SESAME_RATE_LIMIT_API_BURST: must be positive while SESAME_RATE_LIMIT_ENABLED is true")
		}
		if c.RateLimitBrowserRPS <= 0 || c.RateLimitBrowserBurst < 1 {
			return fmt.Errorf("invalid SESAME_RATE_LIMIT_BROWSER_RPS/SESAME_RATE_LIMIT_BROWSER_BURST: must be positive while SESAME_RATE_LIMIT_ENABLED is true")
		}
	}
	if c.BruteForceEnabled {
		if c.BruteForceMaxFailures < 1 {
			return fmt.Errorf("invalid SESAME_BRUTE_FORCE_MAX_FAILURES \"%d\": must be at least 1", c.BruteForceMaxFailures)
		}
		if c.BruteForceBaseLock <= 0 || c.BruteForceMaxLock < c.BruteForceBaseLock {
			return fmt.Errorf("invalid SESAME_BRUTE_FORCE_BASE_LOCK/SESAME_BRUTE_FORCE_MAX_LOCK (%s/%s): want 0 < base ≤ max", c.BruteForceBaseLock, c.BruteForceMaxLock)
		}
	}
	if c.MaxBodyBytes < 1024 {
		return fmt.Errorf("invalid SESAME_MAX_BODY_BYTES \"%d\": must be at least 1024", c.MaxBodyBytes)
	}
	return nil
}

// RPID is the WebAuthn relying-party id: SESAME_WEBAUTHN_RP_ID, else the
// issuer's host (WebAuthn §5.1.4.1: a passkey is bound to it).
func (c Config) RPID() string {
	if c.WebAuthnRPID != "" {
		return c.WebAuthnRPID
	}
	if u, err := url.Parse(c.Issuer); err == nil {
		return u.Hostname()
	}
	return ""
}

// checkRPID: the RP id must be the issuer's host or a registrable suffix
// of it, or browsers refuse every ceremony (WebAuthn §5.1.3 step 8).
func (c Config) checkRPID() error {
	if c.WebAuthnRPID == "" {
		return nil
	}
	u, err := url.Parse(c.Issuer)
	if err != nil {
		return nil // the issuer check names the problem
	}
	host, rp := strings.ToLower(u.Hostname()), strings.ToLower(c.WebAuthnRPID)
	if host != rp && !strings.HasSuffix(host, "."+rp) {
		return fmt.Errorf("invalid SESAME_WEBAUTHN_RP_ID %q: must be the issuer's host %q or a suffix of it", c.WebAuthnRPID, host)
	}
	return nil
}

// RegistrationAudienceList is SESAME_REGISTRATION_AUDIENCES as a list.
func (c *Config) RegistrationAudienceList() []string {
	var out []string
	for _, p := range strings.Split(c.RegistrationAudiences, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// validateRegistrationAudiences checks the shape of each URI (RFC 8707
// §2: absolute, no fragment); whether it is a registered API is decided
// per request, as for any client's audience.
func (c *Config) validateRegistrationAudiences() error {
	for _, a := range c.RegistrationAudienceList() {
		u, err := url.Parse(a)
		if err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" || strings.Contains(a, "#") || u.RawQuery != "" {
			return fmt.Errorf("invalid SESAME_REGISTRATION_AUDIENCES %q: %q is not an absolute URI without query or fragment", c.RegistrationAudiences, a)
		}
	}
	return nil
}

package bench

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Flow names accepted by Config.Flow.
const (
	FlowClientCredentials = "client_credentials"
	FlowPassword          = "password"
	FlowRefresh           = "refresh"
	FlowIntrospect        = "introspect"
	FlowAuthorizationCode = "authorization_code"
	FlowJWKS              = "jwks"
	FlowUserinfo          = "userinfo"
	FlowVerify            = "verify"
	FlowHealth            = "health"
)

// Flows lists every flow in the order the help text shows them.
var Flows = []string{
	FlowClientCredentials, FlowPassword, FlowRefresh, FlowIntrospect,
	FlowAuthorizationCode, FlowJWKS, FlowUserinfo, FlowVerify, FlowHealth,
}

// Client authentication methods at the token and introspection endpoints
// (RFC 6749 §2.3.1).
const (
	TokenAuthBasic = "basic"
	TokenAuthPost  = "post"
)

// Config is one benchmark run. Zero values take the defaults of
// applyDefaults; Validate names the first bad setting.
type Config struct {
	Issuer      string
	Flow        string
	Concurrency int
	// Duration bounds the measured phase (after warm-up); 0 means no time
	// bound other than MaxDuration. When both Duration and Requests are 0,
	// Duration defaults to 10 s.
	Duration time.Duration
	// Requests bounds the number of measured iterations; 0 means unbounded.
	Requests int64
	// Warmup runs the flow without recording before measuring.
	Warmup time.Duration
	// MaxDuration caps the whole run, set-up and warm-up included.
	MaxDuration time.Duration
	// Timeout bounds each HTTP request.
	Timeout time.Duration

	ClientID, ClientSecret string
	Username, Password     string
	Scope                  string
	Audience               string
	RedirectURI            string
	// KeepSession keeps each authorization_code worker's cookies between
	// iterations (single sign-on after the first login) instead of logging
	// in afresh every time.
	KeepSession bool
	// IntrospectClientID/Secret authenticate at the introspection endpoint;
	// empty means the main client.
	IntrospectClientID, IntrospectClientSecret string
	// TokenAuth is TokenAuthBasic (default) or TokenAuthPost.
	TokenAuth string
	// HealthURL is what the health flow GETs; default <issuer>/healthz.
	HealthURL string
	// Insecure skips TLS certificate verification (self-signed test servers).
	Insecure bool
	// CompareHealth runs the health flow with the same bounds first and
	// reports the main flow's throughput as a ratio of it.
	CompareHealth bool

	// Progress receives the live progress line; nil disables it.
	Progress io.Writer
	// ProgressTTY rewrites one line in place (\r) instead of printing one
	// line per tick.
	ProgressTTY bool
	// ProgressInterval defaults to one second.
	ProgressInterval time.Duration
}

func (c *Config) applyDefaults() {
	if c.Concurrency == 0 {
		c.Concurrency = 16
	}
	if c.Duration == 0 && c.Requests == 0 {
		c.Duration = 10 * time.Second
	}
	if c.MaxDuration == 0 {
		c.MaxDuration = DefaultMaxDuration
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.TokenAuth == "" {
		c.TokenAuth = TokenAuthBasic
	}
	if c.ProgressInterval == 0 {
		c.ProgressInterval = time.Second
	}
	c.Issuer = strings.TrimRight(c.Issuer, "/")
	if c.HealthURL == "" && c.Issuer != "" {
		c.HealthURL = c.Issuer + "/healthz"
	}
	if c.IntrospectClientID == "" {
		c.IntrospectClientID, c.IntrospectClientSecret = c.ClientID, c.ClientSecret
	}
}

// Defaults of Config.MaxDuration and Config.Timeout.
const (
	DefaultMaxDuration = 5 * time.Minute
	DefaultTimeout     = 10 * time.Second
)

// ErrConfig wraps every error of Validate, so that callers can tell bad
// usage from a failed run.
var ErrConfig = errors.New("bad configuration")

// Validate reports the first setting that makes the run impossible, naming
// the flag a user would fix. Zero values count as their defaults.
func (c *Config) Validate() error {
	d := *c
	d.applyDefaults()
	if err := d.validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

func (c *Config) validate() error {
	if !slices.Contains(Flows, c.Flow) {
		return fmt.Errorf("--flow %q: want one of %s", c.Flow, strings.Join(Flows, ", "))
	}
	if c.Flow != FlowHealth || c.HealthURL == "" {
		if err := absoluteURL("--issuer", c.Issuer); err != nil {
			return err
		}
	}
	if c.Flow == FlowHealth {
		if err := absoluteURL("--health-url", c.HealthURL); err != nil {
			return err
		}
	}
	switch {
	case c.Concurrency < 1:
		return fmt.Errorf("--concurrency %d: must be at least 1", c.Concurrency)
	case c.Duration < 0, c.Requests < 0, c.Warmup < 0:
		return errors.New("--duration, --requests and --warmup must not be negative")
	case c.MaxDuration <= 0:
		return errors.New("--max-duration must be positive")
	case c.Timeout <= 0:
		return errors.New("--timeout must be positive")
	case c.TokenAuth != TokenAuthBasic && c.TokenAuth != TokenAuthPost:
		return fmt.Errorf("--token-auth %q: want basic or post", c.TokenAuth)
	}
	needClient := c.Flow != FlowJWKS && c.Flow != FlowHealth
	if needClient && c.ClientID == "" {
		return fmt.Errorf("--client-id is required for flow %s", c.Flow)
	}
	if c.Flow == FlowClientCredentials && c.ClientSecret == "" {
		return errors.New("--client-secret is required for flow client_credentials")
	}
	needUser := c.Flow == FlowPassword || c.Flow == FlowRefresh ||
		c.Flow == FlowAuthorizationCode || c.Flow == FlowUserinfo
	if needUser && (c.Username == "" || c.Password == "") {
		return fmt.Errorf("--username and --password are required for flow %s", c.Flow)
	}
	if c.Flow == FlowAuthorizationCode {
		if err := absoluteURL("--redirect-uri", c.RedirectURI); err != nil {
			return err
		}
	}
	if (c.Flow == FlowIntrospect || c.Flow == FlowVerify) && c.ClientSecret == "" && c.Password == "" {
		return fmt.Errorf("flow %s needs a token: give --client-secret (client_credentials) or --username/--password (password grant)", c.Flow)
	}
	return nil
}

func absoluteURL(flag, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s %q: want an absolute http(s) URL", flag, raw)
	}
	return nil
}

// withScope returns scope with want added when it is missing.
func withScope(scope, want string) string {
	if slices.Contains(strings.Fields(scope), want) {
		return scope
	}
	return strings.TrimSpace(scope + " " + want)
}

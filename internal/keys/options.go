package keys

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// Algorithm names (JWS "alg" values) this package can generate keys for.
const (
	RS256 = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256, RSA key of Options.RSABits
	PS256 = "PS256" // RSASSA-PSS with SHA-256, RSA key of Options.RSABits
	ES256 = "ES256" // ECDSA P-256 with SHA-256
	EdDSA = "EdDSA" // Ed25519 (RFC 8037)
)

// Defaults applied by New to zero Options fields.
const (
	DefaultRSABits           = 2048
	DefaultPublishLead       = 24 * time.Hour
	DefaultRetainAfterRetire = 24 * time.Hour
	DefaultRefreshInterval   = 30 * time.Second
	// DefaultRotationInterval is what the server uses; Options itself
	// treats a zero RotationInterval as "manual rotation only".
	DefaultRotationInterval = 90 * 24 * time.Hour

	minRSABits = 2048
	maxRSABits = 8192
)

var (
	// ErrUnknownKey: no published key has the requested kid.
	ErrUnknownKey = errors.New("keys: unknown key id")
	// ErrUnsupportedAlgorithm: the algorithm is not one of Supported().
	ErrUnsupportedAlgorithm = errors.New("keys: unsupported signing algorithm")
	// ErrAlgorithmNotInUse: the algorithm is supported but not in
	// Options.Algorithms, so there is no active key for it.
	ErrAlgorithmNotInUse = errors.New("keys: signing algorithm not in use")
)

// Supported returns the algorithms keys can be generated for.
func Supported() []string { return []string{RS256, PS256, ES256, EdDSA} }

// IsSupported reports whether alg is one of Supported().
func IsSupported(alg string) bool { return slices.Contains(Supported(), alg) }

// Options configures a Manager. Zero values get the defaults documented on
// each field, except Algorithms, which is required.
type Options struct {
	// Algorithms in use, e.g. {"RS256", "ES256"}; each gets its own active
	// key. It must list every algorithm anything will ask Active for (the
	// server default ID token and access token algorithms and any algorithm
	// a client may register).
	Algorithms []string
	// RSABits is the modulus size of new RSA keys (default 2048, min 2048).
	RSABits int
	// RotationInterval is the age at which the active key is replaced
	// automatically by Run; 0 means manual rotation only.
	RotationInterval time.Duration
	// PublishLead is how long a pending key is in the JWKS before automatic
	// rotation activates it (default 24h, capped at RotationInterval/2).
	PublishLead time.Duration
	// RetainAfterRetire is how long a retired key stays published. It must
	// be at least the longest lifetime of anything the key signed (ID and
	// access tokens, including per-client lifespans) plus clock leeway.
	// Default 24h.
	RetainAfterRetire time.Duration
	// RefreshInterval is how often Run reloads keys from the store and does
	// maintenance (default 30s).
	RefreshInterval time.Duration
	// OnChange, if set, is called after this Manager changed the store
	// (created, activated or deleted a key), so the caller can tell other
	// instances to Reload (e.g. with pg_notify). It must not block long.
	OnChange func()
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives life-cycle events (default slog.Default()).
	Logger *slog.Logger
}

// withDefaults validates o and fills in defaults.
func (o Options) withDefaults() (Options, error) {
	if len(o.Algorithms) == 0 {
		return o, errors.New("keys: Options.Algorithms is empty: at least one signing algorithm is required")
	}
	algs := make([]string, 0, len(o.Algorithms))
	for _, a := range o.Algorithms {
		if !IsSupported(a) {
			return o, fmt.Errorf("keys: Options.Algorithms: %w %q (supported: %v)", ErrUnsupportedAlgorithm, a, Supported())
		}
		if slices.Contains(algs, a) {
			return o, fmt.Errorf("keys: Options.Algorithms: %q listed twice", a)
		}
		algs = append(algs, a)
	}
	o.Algorithms = algs

	switch {
	case o.RSABits == 0:
		o.RSABits = DefaultRSABits
	case o.RSABits < minRSABits || o.RSABits > maxRSABits:
		return o, fmt.Errorf("keys: Options.RSABits must be between %d and %d, got %d", minRSABits, maxRSABits, o.RSABits)
	}
	if o.RotationInterval < 0 {
		return o, fmt.Errorf("keys: Options.RotationInterval must not be negative, got %s", o.RotationInterval)
	}
	if o.PublishLead < 0 {
		return o, fmt.Errorf("keys: Options.PublishLead must not be negative, got %s", o.PublishLead)
	}
	if o.PublishLead == 0 {
		o.PublishLead = DefaultPublishLead
	}
	if o.RotationInterval > 0 && o.PublishLead > o.RotationInterval/2 {
		o.PublishLead = o.RotationInterval / 2
	}
	if o.RetainAfterRetire < 0 {
		return o, fmt.Errorf("keys: Options.RetainAfterRetire must not be negative, got %s", o.RetainAfterRetire)
	}
	if o.RetainAfterRetire == 0 {
		o.RetainAfterRetire = DefaultRetainAfterRetire
	}
	if o.RefreshInterval < 0 {
		return o, fmt.Errorf("keys: Options.RefreshInterval must not be negative, got %s", o.RefreshInterval)
	}
	if o.RefreshInterval == 0 {
		o.RefreshInterval = DefaultRefreshInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

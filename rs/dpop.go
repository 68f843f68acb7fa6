package rs

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sesameauth/sesame/internal/dpop"
)

// DPoP checks DPoP proofs (RFC 9449 §7) for Middleware and Gin. Tokens
// bound to a key (cnf.jkt, in the JWT or the introspection answer) are
// accepted only with the DPoP authorization scheme and a proof for this
// request (htm, htu, iat, ath = the token's hash) signed by that key; a
// proof's jti is accepted once. Unbound tokens are accepted as Bearer only.
//
// The check is always on: without WithDPoP a process-wide default (htu
// from the request as received, ±60 s window, replay cache of 100,000
// jtis) is used. The replay cache is in memory: behind a load balancer, a
// proof replayed to another instance within the window is not caught there.
type DPoP struct {
	v         *dpop.Verifier
	publicURL string
}

// DPoPConfig configures NewDPoP. Zero values take the defaults.
type DPoPConfig struct {
	// PublicURL is the scheme://host[:port] clients call the API at, when
	// it differs from what the server sees (TLS terminated by a proxy);
	// forwarded headers are never trusted. Default: http(s)://Host of the
	// request.
	PublicURL string
	// Algorithms accepted; default ES256, EdDSA, ES384, RS256, PS256.
	Algorithms []string
	// Window is how old a proof may be; default 60 s.
	Window time.Duration
	// ReplaySize bounds the jtis remembered; default 100,000.
	ReplaySize int
	Now        func() time.Time
}

// NewDPoP returns a proof checker for WithDPoP.
func NewDPoP(c DPoPConfig) (*DPoP, error) {
	var replay *dpop.ReplayCache
	if c.ReplaySize > 0 {
		replay = dpop.NewReplayCache(c.ReplaySize, c.Now)
	}
	v, err := dpop.NewVerifier(dpop.Options{Algorithms: c.Algorithms, Window: c.Window, Replay: replay, Now: c.Now})
	if err != nil {
		return nil, err
	}
	return &DPoP{v: v, publicURL: strings.TrimRight(c.PublicURL, "/")}, nil
}

// WithDPoP sets the DPoP checker (share one across middlewares of an API,
// so its replay cache sees every request).
func WithDPoP(d *DPoP) Option {
	return func(o *options) { o.dpop = d }
}

var (
	defaultDPoPOnce sync.Once
	defaultDPoP     *DPoP
)

func (o *options) dpopChecker() *DPoP {
	if o.dpop != nil {
		return o.dpop
	}
	defaultDPoPOnce.Do(func() {
		d, err := NewDPoP(DPoPConfig{})
		if err != nil {
			panic("rs: default DPoP checker: " + err.Error()) // static defaults; cannot fail
		}
		defaultDPoP = d
	})
	return defaultDPoP
}

// BoundKey is the RFC 7638 thumbprint the token is bound to (cnf.jkt,
// RFC 9449 §6), or "" for a bearer token.
func (p *Principal) BoundKey() string {
	if p == nil {
		return ""
	}
	cnf, _ := p.Claims["cnf"].(map[string]any)
	jkt, _ := cnf["jkt"].(string)
	return jkt
}

// check enforces RFC 9449 §7 for an authenticated token presented with
// scheme ("Bearer" or "DPoP"); nil means accept.
func (d *DPoP) check(r *http.Request, token string, dpopScheme bool, p *Principal) *challenge {
	jkt := p.BoundKey()
	if jkt == "" && !dpopScheme {
		return nil
	}
	refuse := func(code, desc string) *challenge {
		return &challenge{status: http.StatusUnauthorized, code: code, description: desc, dpopAlgs: d.v.AlgorithmNames()}
	}
	if jkt == "" {
		return refuse("invalid_token", "the access token is not DPoP-bound; use the Bearer scheme")
	}
	if !dpopScheme {
		return refuse("invalid_token", "the access token is DPoP-bound; present it with the DPoP scheme and a proof")
	}
	raw, present, err := dpop.FromRequest(r)
	if err == nil && !present {
		return refuse(dpop.CodeInvalidProof, "a DPoP proof is required")
	}
	if err == nil {
		_, err = d.v.Verify(raw, dpop.Check{Method: r.Method, URL: d.target(r), AccessToken: token, JKT: jkt})
	}
	if err != nil {
		var e *dpop.Error
		if errors.As(err, &e) {
			return refuse(e.Code, e.Description)
		}
		return refuse(dpop.CodeInvalidProof, "the DPoP proof cannot be checked")
	}
	return nil
}

// target is the htu the proof must name: the public URL of this request
// without query (RFC 9449 §4.3).
func (d *DPoP) target(r *http.Request) string {
	base := d.publicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + r.URL.EscapedPath()
}

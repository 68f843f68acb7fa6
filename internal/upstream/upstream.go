package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Errors of an upstream sign-in; see doc.go.
var (
	ErrUnavailable        = errors.New("upstream: unavailable")
	ErrRefused            = errors.New("upstream: sign-in refused")
	ErrInvalidCredentials = errors.New("upstream: invalid username or password")
)

// Identity is what an upstream says about the person who signed in.
// Subject is the upstream's stable id of the account (never reassigned,
// unlike an email address or username).
type Identity struct {
	Subject       string
	Username      string
	Email         string
	EmailVerified bool
	Name          string
	Groups        []string
}

// Upstream is one configured provider.
type Upstream interface {
	ID() string
	Name() string
	Type() string
	// Check probes what the upstream needs to be usable (discovery and
	// JWKS of an oidc provider, the directory of an ldap one) for
	// `sesame upstreams list` and /admin/upstreams.
	Check(ctx context.Context) []Probe
}

// Probe is one reachability check.
type Probe struct {
	What  string // "discovery", "jwks", "authorize", "directory"…
	URL   string
	OK    bool
	Error string // why not, for the operator
}

// Attempt is one redirect sign-in as the caller keeps it between the
// start and the callback.
type Attempt struct {
	State, Nonce, Verifier string
	RedirectURI            string
}

// Redirect is an upstream the browser is sent to (oidc, oauth2).
type Redirect interface {
	Upstream
	// AuthURL is where to send the browser to start a.
	AuthURL(ctx context.Context, a Attempt) (string, error)
	// Finish redeems the code of the callback's query q (after the
	// caller matched its state to a).
	Finish(ctx context.Context, a Attempt, q url.Values) (Identity, error)
}

// Password is an upstream that checks a username and password (ldap).
type Password interface {
	Upstream
	Authenticate(ctx context.Context, username, password string) (Identity, error)
}

// Config configures one upstream (internal/server maps config.Upstream
// onto it). Claims maps Sesame's fields (subject, username, email,
// email_verified, name, groups) to the upstream's claim or attribute
// names; unmapped fields take the type's defaults.
type Config struct {
	ID, Name, Type string

	Issuer       string
	ClientID     string
	ClientSecret string
	Scopes       []string
	Claims       map[string]string
	Userinfo     bool

	AuthorizeURL, TokenURL, UserinfoURL, EmailsURL string

	URL             string
	StartTLS        bool
	CAFile          string
	BindDN          string
	BindPassword    string
	UserSearchBase  string
	UserFilter      string
	GroupSearchBase string
	GroupFilter     string
}

// Options are what every upstream shares.
type Options struct {
	// HTTPClient reaches the upstream (nil: a client with a 10 s timeout).
	HTTPClient *http.Client
	// JWKSRefresh is the least time between two fetches of an oidc
	// upstream's JWKS (zero: 30 s).
	JWKSRefresh time.Duration
	// Timeout bounds one LDAP sign-in (zero: 10 s).
	Timeout time.Duration
	Now     func() time.Time
	Logger  *slog.Logger
}

func (o *Options) defaults() {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.JWKSRefresh == 0 {
		o.JWKSRefresh = 30 * time.Second
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// New builds the upstream of cfg.Type. It does not reach the upstream:
// a provider that is down at start-up must not stop Sesame.
func New(cfg Config, o Options) (Upstream, error) {
	o.defaults()
	switch cfg.Type {
	case "oidc":
		return newOIDC(cfg, o), nil
	case "oauth2":
		return newOAuth2(cfg, o), nil
	case "ldap":
		return newLDAP(cfg, o)
	}
	return nil, fmt.Errorf("upstream %q: unknown type %q", cfg.ID, cfg.Type)
}

// maxBody bounds every document an upstream sends.
const maxBody = 1 << 20

// Bounds of the groups an upstream may hand us.
const (
	maxGroups     = 256
	maxGroupBytes = 256
	maxFieldBytes = 512 // username, email, name, subject
)

// readBody reads a bounded body; more than maxBody is an error.
func readBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxBody {
		return nil, fmt.Errorf("response larger than %d bytes", maxBody)
	}
	return b, nil
}

// claimName returns the upstream's name of field, or def.
func claimName(claims map[string]string, field, def string) string {
	if v := claims[field]; v != "" {
		return v
	}
	return def
}

// mapClaims turns a JSON object (ID token claims, userinfo, GitHub's
// /user) into an Identity by the claim map.
func mapClaims(m map[string]any, claims map[string]string, defaults map[string]string) (Identity, error) {
	str := func(field string) string {
		name := claimName(claims, field, defaults[field])
		if name == "" {
			return ""
		}
		switch v := m[name].(type) {
		case string:
			return v
		case float64: // GitHub's numeric id
			return fmt.Sprintf("%.0f", v)
		case bool:
			if v {
				return "true"
			}
			return "false"
		}
		return ""
	}
	id := Identity{
		Subject:  str("subject"),
		Username: str("username"),
		Email:    str("email"),
		Name:     str("name"),
	}
	id.EmailVerified = str("email_verified") == "true"
	switch v := m[claimName(claims, "groups", defaults["groups"])].(type) {
	case []any:
		for _, g := range v {
			if s, ok := g.(string); ok {
				id.Groups = append(id.Groups, s)
			}
		}
	case string:
		id.Groups = []string{v}
	}
	return id.bounded()
}

// bounded refuses an identity without a subject and trims what is too
// long or too many to be anything but an attack.
func (id Identity) bounded() (Identity, error) {
	if id.Subject == "" {
		return Identity{}, fmt.Errorf("%w: no subject", ErrRefused)
	}
	for _, f := range []string{id.Subject, id.Username, id.Email, id.Name} {
		if len(f) > maxFieldBytes {
			return Identity{}, fmt.Errorf("%w: a claim is longer than %d bytes", ErrRefused, maxFieldBytes)
		}
	}
	id.Email = strings.TrimSpace(id.Email)
	if len(id.Groups) > maxGroups {
		id.Groups = id.Groups[:maxGroups]
	}
	out := id.Groups[:0]
	for _, g := range id.Groups {
		if g != "" && len(g) <= maxGroupBytes {
			out = append(out, g)
		}
	}
	id.Groups = out
	return id, nil
}

// getJSON fetches a JSON document, optionally with a bearer token. A
// transport error or 5xx is ErrUnavailable; another non-200 is ErrRefused.
func getJSON(ctx context.Context, hc *http.Client, rawURL, bearer string, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRefused, err)
	}
	req.Header.Set("Accept", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return doJSON(hc, req, dst)
}

func doJSON(hc *http.Client, req *http.Request, dst any) error {
	res, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %s %s: %v", ErrUnavailable, req.Method, req.URL.Redacted(), err)
	}
	defer res.Body.Close()
	body, err := readBody(res.Body)
	if err != nil {
		return fmt.Errorf("%w: %s %s: %v", ErrUnavailable, req.Method, req.URL.Redacted(), err)
	}
	switch {
	case res.StatusCode >= 500:
		return fmt.Errorf("%w: %s %s: status %d", ErrUnavailable, req.Method, req.URL.Redacted(), res.StatusCode)
	case res.StatusCode != http.StatusOK:
		return fmt.Errorf("%w: %s %s: status %d: %s", ErrRefused, req.Method, req.URL.Redacted(), res.StatusCode, errorOf(body))
	}
	if err := decodeJSON(body, dst); err != nil {
		return fmt.Errorf("%w: %s %s: %v", ErrRefused, req.Method, req.URL.Redacted(), err)
	}
	return nil
}

// probe GETs rawURL and reports whether it answered 200.
func probe(ctx context.Context, hc *http.Client, what, rawURL string) Probe {
	p := Probe{What: what, URL: rawURL}
	var v any
	if err := getJSON(ctx, hc, rawURL, "", &v); err != nil {
		p.Error = err.Error()
		return p
	}
	p.OK = true
	return p
}

func newGet(ctx context.Context, rawURL string) (*http.Request, error) {
	return http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
}

package rs

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
)

// DefaultCacheSize bounds the introspection cache when CacheTTL is set and
// CacheSize is not.
const DefaultCacheSize = 10000

// IntrospectionConfig configures an Introspector.
type IntrospectionConfig struct {
	// Issuer is the authorization server's issuer URL. Its metadata names
	// the introspection_endpoint (unless Endpoint is set), and a response
	// carrying iss must name this issuer.
	Issuer string
	// Endpoint is the RFC 7662 introspection endpoint; set it to skip
	// discovery.
	Endpoint string
	// ClientID and ClientSecret authenticate this resource server
	// (client_secret_basic). In Sesame the client needs the
	// sesame:introspect scope to see other clients' tokens. Required.
	ClientID     string
	ClientSecret string
	// Audience, when set, must be among the token's aud values.
	Audience string
	// CacheTTL is how long an active result is reused; 0 disables the
	// cache. An entry never outlives the token's exp. Inactive results are
	// never cached (see doc.go).
	CacheTTL time.Duration
	// CacheSize bounds the number of cached tokens (least recently used
	// goes first). Default DefaultCacheSize when CacheTTL > 0.
	CacheSize int
	// HTTPClient calls the issuer. Default: a client with a 10 s timeout.
	HTTPClient *http.Client
	// Logger receives issuer-side failures (never tokens). Default
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock; tests inject one. Default time.Now.
	Now func() time.Time
}

// Introspector checks any token (opaque or JWT) by asking the issuer
// (RFC 7662). Because the issuer answers from its database, it sees
// revocations immediately, at the price of a round trip per uncached
// request. It is safe for concurrent use.
type Introspector struct {
	issuer   string
	endpoint string
	clientID string
	secret   string
	audience string
	ttl      time.Duration
	cache    *lru // nil when caching is off
	client   *http.Client
	log      *slog.Logger
	now      func() time.Time
	group    singleflight.Group
}

// NewIntrospector validates cfg and, unless cfg.Endpoint is set, discovers
// the issuer's introspection_endpoint.
func NewIntrospector(ctx context.Context, cfg IntrospectionConfig) (*Introspector, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("rs: IntrospectionConfig.ClientID and ClientSecret are required")
	}
	if cfg.Issuer == "" && cfg.Endpoint == "" {
		return nil, errors.New("rs: IntrospectionConfig needs Issuer or Endpoint")
	}
	if cfg.CacheTTL < 0 || cfg.CacheSize < 0 {
		return nil, errors.New("rs: IntrospectionConfig.CacheTTL and CacheSize must not be negative")
	}
	client := httpClient(cfg.HTTPClient)
	endpoint := cfg.Endpoint
	if endpoint == "" {
		md, err := discover(ctx, client, cfg.Issuer)
		if err != nil {
			return nil, err
		}
		if md.IntrospectionEndpoint == "" {
			return nil, fmt.Errorf("rs: issuer %s publishes no introspection_endpoint", cfg.Issuer)
		}
		endpoint = md.IntrospectionEndpoint
	}
	i := &Introspector{
		issuer:   cfg.Issuer,
		endpoint: endpoint,
		clientID: cfg.ClientID,
		secret:   cfg.ClientSecret,
		audience: cfg.Audience,
		ttl:      cfg.CacheTTL,
		client:   client,
		log:      cfg.Logger,
		now:      cfg.Now,
	}
	if i.log == nil {
		i.log = slog.Default()
	}
	if i.now == nil {
		i.now = time.Now
	}
	if cfg.CacheTTL > 0 {
		size := cfg.CacheSize
		if size == 0 {
			size = DefaultCacheSize
		}
		i.cache = newLRU(size)
	}
	return i, nil
}

// Authenticate implements Authenticator by introspecting token. Concurrent
// calls with the same token share one request to the issuer.
func (i *Introspector) Authenticate(ctx context.Context, token string) (*Principal, error) {
	if token == "" {
		return nil, invalid("the token is empty", nil)
	}
	// The hash keys both the cache and single-flight, so raw tokens are not
	// kept in long-lived maps.
	sum := sha256.Sum256([]byte(token))
	key := string(sum[:])
	if i.cache != nil {
		if p, ok := i.cache.get(key, i.now()); ok {
			return p, nil
		}
	}
	ch := i.group.DoChan(key, func() (any, error) {
		// Detached from the first caller's context: its cancellation must
		// not fail the other requests waiting for the same answer.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		defer cancel()
		p, err := i.introspect(fctx, token)
		if err != nil {
			return nil, err
		}
		i.remember(key, p)
		return p, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*Principal), nil
	case <-ctx.Done():
		return nil, unavailable("token introspection was cancelled", ctx.Err())
	}
}

// remember caches an active result until the cache TTL or the token's exp,
// whichever comes first: a cached answer must never outlive the token.
func (i *Introspector) remember(key string, p *Principal) {
	if i.cache == nil {
		return
	}
	now := i.now()
	until := now.Add(i.ttl)
	if !p.Expiry.IsZero() && p.Expiry.Before(until) {
		until = p.Expiry
	}
	if until.After(now) {
		i.cache.put(key, p, until)
	}
}

func (i *Introspector) introspect(ctx context.Context, token string) (*Principal, error) {
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, i.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, unavailable("token introspection failed", fmt.Errorf("rs: build introspection request: %w", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 §2.3.1: client_secret_basic form-encodes id and secret
	// before base64.
	req.SetBasicAuth(url.QueryEscape(i.clientID), url.QueryEscape(i.secret))
	resp, err := i.client.Do(req)
	if err != nil {
		i.log.ErrorContext(ctx, "rs: introspection request failed", "endpoint", i.endpoint, "err", err)
		return nil, unavailable("token introspection failed", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		err := fmt.Errorf("rs: introspection endpoint %s answered %d", i.endpoint, resp.StatusCode)
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusBadRequest {
			err = fmt.Errorf("%w (check the resource server's client id and secret)", err)
		}
		i.log.ErrorContext(ctx, "rs: introspection refused", "err", err)
		return nil, unavailable("token introspection failed", err)
	}
	var body map[string]any
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&body); err != nil {
		return nil, unavailable("token introspection failed", fmt.Errorf("rs: decode introspection response: %w", err))
	}
	return i.principal(body)
}

// principal turns an RFC 7662 §2.2 response into a Principal.
func (i *Introspector) principal(body map[string]any) (*Principal, error) {
	if active, _ := body["active"].(bool); !active {
		return nil, invalid("the token is not active", nil)
	}
	// A refresh token is active too, but it is not a bearer credential for
	// APIs (RFC 6749 §1.5).
	for _, name := range []string{"token_type", "token_use"} {
		if strings.EqualFold(claimString(body, name), "refresh_token") {
			return nil, invalid("a refresh token is not an access token", nil)
		}
	}
	if iss := claimString(body, "iss"); iss != "" && i.issuer != "" && iss != i.issuer {
		return nil, invalid("the token was issued by another issuer", nil)
	}
	aud := claimStrings(body, "aud")
	if i.audience != "" && !slices.Contains(aud, i.audience) {
		return nil, invalid("the token is not meant for this audience", nil)
	}
	p := &Principal{
		Subject:  claimString(body, "sub"),
		ClientID: claimString(body, "client_id"),
		Username: usernameFrom(body),
		Scopes:   splitScope(claimString(body, "scope")),
		Audience: aud,
		Claims:   body,
		Source:   SourceIntrospection,
	}
	if exp, ok := claimTime(body, "exp"); ok {
		p.Expiry = exp
	}
	return p, nil
}

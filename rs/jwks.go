package rs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"
)

// fetchTimeout bounds one JWKS or introspection call made on behalf of
// possibly many waiting requests (see singleflight below).
const fetchTimeout = 10 * time.Second

// keyCache holds the issuer's public signing keys. It refreshes
//   - when the set is older than ttl (so retired keys eventually go), and
//   - when a token names a kid we do not know (so a rotation at the issuer is
//     picked up without a restart), but at most once per minInterval: every
//     unknown kid would otherwise cost a request to the issuer, and anyone
//     can mint tokens with random kids.
//
// Concurrent refreshes collapse into one HTTP call.
type keyCache struct {
	url     string
	client  *http.Client
	ttl     time.Duration
	limiter *rate.Limiter
	now     func() time.Time
	log     *slog.Logger
	group   singleflight.Group

	mu      sync.RWMutex
	keys    []jose.JSONWebKey
	fetched time.Time // last successful fetch
}

func newKeyCache(url string, client *http.Client, ttl, minInterval time.Duration, now func() time.Time, log *slog.Logger) *keyCache {
	return &keyCache{
		url:     url,
		client:  client,
		ttl:     ttl,
		limiter: rate.NewLimiter(rate.Every(minInterval), 1),
		now:     now,
		log:     log,
	}
}

// candidates returns the keys that may have signed a token with this kid
// and alg. RFC 7517 §4.4: a key that declares its alg may only be used with
// that alg; RFC 7517 §4.2: a key for "enc" must not verify signatures.
func (c *keyCache) candidates(ctx context.Context, kid, alg string) ([]jose.JSONWebKey, error) {
	c.mu.RLock()
	fetched := c.fetched
	c.mu.RUnlock()

	// Every fetch, whether for age or for an unknown kid, takes a token from
	// the same limiter: a fetch a moment ago already told us what the issuer
	// publishes, and a failing issuer is not retried on every request.
	if fetched.IsZero() || c.now().Sub(fetched) > c.ttl {
		if c.allow() {
			if err := c.refresh(ctx); err != nil {
				if fetched.IsZero() {
					return nil, unavailable("the issuer's signing keys could not be fetched", err)
				}
				// Keep verifying with the keys we have: an issuer outage
				// should not take every resource server down with it.
				c.log.WarnContext(ctx, "rs: JWKS refresh failed, using cached keys", "url", c.url, "err", err)
			}
		} else if fetched.IsZero() {
			return nil, unavailable("the issuer's signing keys could not be fetched", nil)
		}
	}

	if keys := c.match(kid, alg); len(keys) > 0 {
		return keys, nil
	}
	if !c.allow() {
		return nil, invalid("the token's signing key is unknown", nil)
	}
	if err := c.refresh(ctx); err != nil {
		return nil, unavailable("the issuer's signing keys could not be fetched", err)
	}
	if keys := c.match(kid, alg); len(keys) > 0 {
		return keys, nil
	}
	return nil, invalid("the token's signing key is unknown", nil)
}

func (c *keyCache) allow() bool {
	return c.limiter.AllowN(c.now(), 1)
}

func (c *keyCache) match(kid, alg string) []jose.JSONWebKey {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []jose.JSONWebKey
	for _, k := range c.keys {
		if kid != "" && k.KeyID != kid {
			continue
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != alg {
			continue
		}
		out = append(out, k)
	}
	return out
}

// refresh fetches the key set once for all concurrent callers. The fetch runs
// on a context detached from the first caller's, so that caller giving up
// does not fail everyone else waiting on the same fetch.
func (c *keyCache) refresh(ctx context.Context) error {
	ch := c.group.DoChan("jwks", func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		defer cancel()
		keys, err := c.fetch(fctx)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.keys, c.fetched = keys, c.now()
		c.mu.Unlock()
		return nil, nil
	})
	select {
	case r := <-ch:
		return r.Err
	case <-ctx.Done():
		return fmt.Errorf("rs: waiting for JWKS: %w", ctx.Err())
	}
}

// fetch downloads and parses the JWKS. Keys that fail to parse (an algorithm
// this library does not know) are skipped rather than failing the whole set;
// symmetric keys are dropped because a JWKS is public, so a shared secret in
// it would let anyone mint tokens.
func (c *keyCache) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := getJSON(ctx, c.client, c.url, &raw); err != nil {
		return nil, err
	}
	keys := make([]jose.JSONWebKey, 0, len(raw.Keys))
	for _, r := range raw.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(r); err != nil {
			c.log.WarnContext(ctx, "rs: skipping unparseable JWK", "url", c.url, "err", err)
			continue
		}
		if _, symmetric := k.Key.([]byte); symmetric {
			c.log.WarnContext(ctx, "rs: skipping symmetric key in JWKS", "url", c.url, "kid", k.KeyID)
			continue
		}
		if !k.IsPublic() {
			k = k.Public()
		}
		if !k.Valid() {
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("rs: JWKS at %s has no usable signing keys", c.url)
	}
	return keys, nil
}

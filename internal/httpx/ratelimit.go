package httpx

import (
	"container/list"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"
)

// RateLimitConfig limits requests per client IP (ClientIP, IPv6 by /64) on
// one route group with a token bucket (golang.org/x/time/rate): Burst
// requests at once, then Rate per second.
type RateLimitConfig struct {
	// Disabled lets every request through (benchmarks, or a rate limit
	// enforced by a proxy in front).
	Disabled bool
	// Rate is the sustained number of requests per second per client.
	Rate rate.Limit
	// Burst is how many requests a client may make at once.
	Burst int
	// MaxClients bounds how many client buckets are kept; when full, the
	// least recently seen client is forgotten. Default 10 000.
	MaxClients int
	// IdleTTL: a bucket unused this long is dropped (it would be full
	// again anyway; the TTL is raised to the refill time if shorter).
	// Default 10 minutes.
	IdleTTL time.Duration
	// HTML answers a limited request with an HTML page instead of JSON,
	// for the browser routes.
	HTML bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Default rate limits per route group, per client IP. They are far above
// what one person or one ordinary client needs and are meant to blunt
// floods, not to meter use; a resource server introspecting behind one
// NAT address is why the API limit is high.
func DefaultAPIRateLimit() RateLimitConfig {
	return RateLimitConfig{Rate: 50, Burst: 100}
}

// DefaultBrowserRateLimit covers the HTML pages (authorize, login,
// consent, account, logout). One complete sign-in with consent is 7 such
// requests, so 8/s with a burst of 60 lets about 69 sign-ins a minute
// through one address (an office behind one NAT), 77 in the first minute
// (issue 13 item 21; test/security TestLoginsPerMinuteFromOneAddress).
// Guessing passwords stays bounded by the brute-force guard, not by this.
func DefaultBrowserRateLimit() RateLimitConfig {
	return RateLimitConfig{Rate: 8, Burst: 60, HTML: true}
}

// DefaultRegisterRateLimit covers dynamic client registration.
func DefaultRegisterRateLimit() RateLimitConfig {
	return RateLimitConfig{Rate: 1, Burst: 10}
}

// Validate names the first bad field; a disabled config is always valid.
func (c RateLimitConfig) Validate() error {
	switch {
	case c.Disabled:
		return nil
	case c.Rate <= 0:
		return fmt.Errorf("rate limit: rate must be positive, got %v per second", float64(c.Rate))
	case c.Burst < 1:
		return fmt.Errorf("rate limit: burst must be at least 1, got %d", c.Burst)
	case c.MaxClients < 0:
		return fmt.Errorf("rate limit: max clients must not be negative, got %d", c.MaxClients)
	}
	return nil
}

const (
	defaultMaxClients = 10_000
	defaultIdleTTL    = 10 * time.Minute
)

// RateLimiter keeps one token bucket per client in an LRU list: every
// lookup moves the client to the front, idle clients are dropped from the
// back, and the list never exceeds MaxClients, so memory stays bounded
// however many addresses an attacker uses.
type RateLimiter struct {
	cfg  RateLimitConfig
	idle time.Duration

	mu    sync.Mutex
	lru   *list.List // of *bucket, most recently seen first
	byKey map[string]*list.Element
}

type bucket struct {
	key  string
	lim  *rate.Limiter
	seen time.Time
}

// NewRateLimiter applies the defaults of cfg and returns a limiter.
func NewRateLimiter(cfg RateLimitConfig) *RateLimiter {
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = defaultMaxClients
	}
	if cfg.IdleTTL <= 0 {
		cfg.IdleTTL = defaultIdleTTL
	}
	if cfg.Burst < 1 {
		cfg.Burst = 1
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	idle := cfg.IdleTTL
	// Dropping a bucket before it has refilled would hand the client a
	// fresh burst early.
	if cfg.Rate > 0 && cfg.Rate != rate.Inf {
		if refill := time.Duration(float64(cfg.Burst) / float64(cfg.Rate) * float64(time.Second)); refill > idle {
			idle = refill
		}
	}
	return &RateLimiter{cfg: cfg, idle: idle, lru: list.New(), byKey: map[string]*list.Element{}}
}

// RateLimit returns the middleware of a new RateLimiter.
func RateLimit(cfg RateLimitConfig) gin.HandlerFunc {
	return NewRateLimiter(cfg).Middleware()
}

// Middleware answers 429 with Retry-After once a client has spent its
// burst, and lets everything through when the config is Disabled.
func (l *RateLimiter) Middleware() gin.HandlerFunc {
	if l.cfg.Disabled {
		return func(c *gin.Context) { c.Next() }
	}
	return func(c *gin.Context) {
		wait := l.reserve(limitKey(ClientIP(c)))
		if wait <= 0 {
			c.Next()
			return
		}
		secs := int(math.Ceil(wait.Seconds()))
		c.Header("Retry-After", strconv.Itoa(secs))
		msg := fmt.Sprintf("Too many requests. Retry after %d seconds.", secs)
		if l.cfg.HTML {
			writeHTMLError(c, http.StatusTooManyRequests, "Too many requests", msg)
			return
		}
		WriteError(c, http.StatusTooManyRequests, "too_many_requests", msg)
	}
}

// Len is how many client buckets are held (for tests and metrics).
func (l *RateLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// reserve takes one token from key's bucket. It returns 0 when the
// request may proceed, otherwise how long until a token is available
// (and takes nothing: a refused request does not eat into the future).
// The clock is read under the lock so the LRU order is also time order.
func (l *RateLimiter) reserve(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.cfg.Now()
	l.evictIdle(now)
	var b *bucket
	if el, ok := l.byKey[key]; ok {
		b = el.Value.(*bucket)
		b.seen = now
		l.lru.MoveToFront(el)
	} else {
		if l.lru.Len() >= l.cfg.MaxClients {
			l.remove(l.lru.Back())
		}
		b = &bucket{key: key, lim: rate.NewLimiter(l.cfg.Rate, l.cfg.Burst), seen: now}
		l.byKey[key] = l.lru.PushFront(b)
	}
	r := b.lim.ReserveN(now, 1)
	if !r.OK() { // Rate 0 and the burst spent: nothing will ever come
		return l.idle
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

// evictIdle drops buckets unused for the idle TTL. The list is ordered by
// last use, so it stops at the first bucket still in use: O(dropped).
func (l *RateLimiter) evictIdle(now time.Time) {
	for el := l.lru.Back(); el != nil; el = l.lru.Back() {
		if now.Sub(el.Value.(*bucket).seen) < l.idle {
			return
		}
		l.remove(el)
	}
}

func (l *RateLimiter) remove(el *list.Element) {
	delete(l.byKey, el.Value.(*bucket).key)
	l.lru.Remove(el)
}

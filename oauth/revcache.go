package oauth

import (
	"sync"
	"time"
)

// Defaults of the revocation cache (Config.RevocationCacheTTL).
const (
	defaultRevocationCacheTTL = time.Second
	revocationCacheMax        = 16384
)

// revCache remembers, for a short while, that an access token was found
// not revoked: its opaque row (active, with its client's revocation
// instant), its grant (not revoked), its client's revocation instant, its
// jti (not denylisted). Introspection reads these on every request and a
// resource server introspects the same token on every request of its own;
// on Postgres each read is a round trip to a process sharing the CPU.
//
// What keeps it exact:
//   - an entry is taken with the store's revocation epoch
//     (storage.Store.RevocationEpoch) read BEFORE the store was, and is
//     used only while the epoch is unchanged: any revoking write this
//     process commits, through whatever path (RFC 7009, refresh-token
//     reuse, the admin API, the account page, the CLI's own process),
//     invalidates every entry at once;
//   - Handler.InvalidateRevocations (wired to the Postgres backend's
//     NOTIFY of every committed revocation, from any process) does the same
//     for revocations made elsewhere;
//   - the TTL (1 s by default) bounds what neither can see: a revocation
//     by another process on SQLite, or one whose notification was lost
//     while the listener reconnected (it then also invalidates all).
//
// Only "not revoked" is cached; anything revoked, missing or failed is
// read again every time. Reads inside a transaction bypass the cache.
type revCache struct {
	ttl   time.Duration
	now   func() time.Time
	epoch func() uint64

	mu  sync.RWMutex
	gen uint64
	m   map[string]revEntry
}

type revEntry struct {
	v          any
	epoch, gen uint64
	exp        time.Time
}

// newRevCache returns a cache, or nil (off) when ttl < 0.
func newRevCache(ttl time.Duration, now func() time.Time, epoch func() uint64) *revCache {
	if ttl < 0 || epoch == nil {
		return nil
	}
	if ttl == 0 {
		ttl = defaultRevocationCacheTTL
	}
	if now == nil {
		now = time.Now
	}
	return &revCache{ttl: ttl, now: now, epoch: epoch, m: map[string]revEntry{}}
}

// stamp is taken before reading the store; put stores under it.
type stamp struct{ epoch, gen uint64 }

func (c *revCache) stamp() stamp {
	if c == nil {
		return stamp{}
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return stamp{epoch: c.epoch(), gen: c.gen}
}

// get returns a valid entry's value.
func (c *revCache) get(key string) (any, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.RLock()
	e, ok := c.m[key]
	gen := c.gen
	c.mu.RUnlock()
	if !ok || e.gen != gen || e.epoch != c.epoch() || !c.now().Before(e.exp) {
		return nil, false
	}
	return e.v, true
}

// put stores v under key unless a revocation happened since s was taken.
func (c *revCache) put(key string, v any, s stamp) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.gen != c.gen || s.epoch != c.epoch() {
		return
	}
	if _, seen := c.m[key]; !seen && len(c.m) >= revocationCacheMax {
		now := c.now()
		for k, e := range c.m {
			if e.gen != c.gen || e.epoch != s.epoch || !now.Before(e.exp) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= revocationCacheMax {
			clear(c.m)
		}
	}
	c.m[key] = revEntry{v: v, epoch: s.epoch, gen: s.gen, exp: c.now().Add(c.ttl)}
}

// invalidate drops every entry and refuses puts of loads begun before.
func (c *revCache) invalidate() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.gen++
	clear(c.m)
	c.mu.Unlock()
}

// InvalidateRevocations drops everything the revocation cache holds: call
// it when another process revoked something (the server wires it to the
// Postgres notification of every committed revocation).
func (h *Handler) InvalidateRevocations() { h.adapter.revs.invalidate() }

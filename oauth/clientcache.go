package oauth

import (
	"sync"
	"time"
)

// Defaults of the client cache (Config.ClientCacheTTL).
const (
	// 1 s: with SQLite (the CLI and other servers on the same file) no
	// notification reaches this process, and a deleted client or a
	// rotated secret must stop working everywhere within a second (issue
	// 13). Reloading each busy client once a second costs nothing
	// measurable on the token path.
	defaultClientCacheTTL = time.Second
	clientCacheMax        = 4096
)

// clientCache keeps recently used clients in memory: every token,
// introspection and revocation request loads its client (and introspection
// the token's client too), which was a third of their CPU in the profile
// (docs/benchmarks.md). Entries live for a short TTL; local writes and the
// cross-instance notifier call Handler.InvalidateClient, and the TTL bounds
// the staleness of anything that does not (a write by another instance
// without notifications). Only found clients are cached: a client created
// a moment ago must work at once.
type clientCache struct {
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	m  map[string]cachedClient
	// gen changes on every invalidation; a load that started before one
	// does not store its (possibly stale) result.
	gen uint64
}

type cachedClient struct {
	c   *Client
	exp time.Time
}

// newClientCache returns a cache, or nil (caching off) when ttl < 0.
func newClientCache(ttl time.Duration, now func() time.Time) *clientCache {
	if ttl < 0 {
		return nil
	}
	if ttl == 0 {
		ttl = defaultClientCacheTTL
	}
	return &clientCache{ttl: ttl, now: now, m: map[string]cachedClient{}}
}

// get returns a fresh entry, and the generation to pass to put on a miss.
func (cc *clientCache) get(id string) (*Client, uint64) {
	if cc == nil {
		return nil, 0
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if e, ok := cc.m[id]; ok && cc.now().Before(e.exp) {
		return e.c, cc.gen
	}
	return nil, cc.gen
}

// put stores c unless an invalidation happened since get returned gen.
func (cc *clientCache) put(c *Client, gen uint64) {
	if cc == nil {
		return
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if gen != cc.gen {
		return
	}
	now := cc.now()
	if len(cc.m) >= clientCacheMax {
		for id, e := range cc.m {
			if !now.Before(e.exp) {
				delete(cc.m, id)
			}
		}
		if len(cc.m) >= clientCacheMax {
			clear(cc.m) // all fresh: start over rather than grow
		}
	}
	cc.m[c.GetID()] = cachedClient{c: c, exp: now.Add(cc.ttl)}
}

// invalidate drops id, or every client when id is "".
func (cc *clientCache) invalidate(id string) {
	if cc == nil {
		return
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.gen++
	if id == "" {
		clear(cc.m)
		return
	}
	delete(cc.m, id)
}

// InvalidateClient drops client id from the in-memory client cache, so
// that an update, secret rotation or deletion takes effect at once; "" drops
// every client. Call it after writing a client (internal/app, the admin
// API) and when another instance reports a client change (internal/notify).
// Without a call a change shows within Config.ClientCacheTTL.
func (h *Handler) InvalidateClient(id string) { h.adapter.clients.invalidate(id) }

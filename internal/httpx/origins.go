package httpx

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/sesameauth/sesame/storage"
)

// DefaultOriginCacheTTL is how long StoreOrigins trusts what it read: a
// client's new allowed origin works within a minute, on every instance.
const DefaultOriginCacheTTL = time.Minute

// maxCachedClients bounds the per-client cache; random client_ids sent by
// a scanner are cached too (negative caching spares the database), so the
// cache must not grow with them.
const maxCachedClients = 10_000

// StoreOrigins is the OriginLookup of the server: it reads clients'
// AllowedCORSOrigins from a storage.ClientStore and caches them for a TTL.
// Concurrent misses for the same key share one database read.
type StoreOrigins struct {
	store storage.ClientStore
	ttl   time.Duration
	now   func() time.Time
	group singleflight.Group

	mu        sync.Mutex
	perClient map[string]cachedOrigins
	all       map[string]struct{}
	allAt     time.Time
}

type cachedOrigins struct {
	origins []string
	at      time.Time
}

var _ OriginLookup = (*StoreOrigins)(nil)

// NewStoreOrigins returns a cached lookup over store; ttl <= 0 means
// DefaultOriginCacheTTL, now nil means time.Now.
func NewStoreOrigins(store storage.ClientStore, ttl time.Duration, now func() time.Time) *StoreOrigins {
	if store == nil {
		panic("httpx.NewStoreOrigins: nil store")
	}
	if ttl <= 0 {
		ttl = DefaultOriginCacheTTL
	}
	if now == nil {
		now = time.Now
	}
	return &StoreOrigins{store: store, ttl: ttl, now: now, perClient: map[string]cachedOrigins{}}
}

// ClientOrigins returns the normalized allowed origins of clientID; an
// unknown client has none.
func (s *StoreOrigins) ClientOrigins(ctx context.Context, clientID string) ([]string, error) {
	now := s.now()
	s.mu.Lock()
	e, ok := s.perClient[clientID]
	s.mu.Unlock()
	if ok && now.Sub(e.at) < s.ttl {
		return e.origins, nil
	}
	v, err, _ := s.group.Do("client:"+clientID, func() (any, error) {
		c, err := s.store.GetClient(ctx, clientID)
		if errors.Is(err, storage.ErrNotFound) {
			return []string(nil), nil
		}
		if err != nil {
			return nil, fmt.Errorf("httpx: load CORS origins of client: %w", err)
		}
		return normalizeAll(c.AllowedCORSOrigins), nil
	})
	if err != nil {
		return nil, err
	}
	origins := v.([]string)
	s.mu.Lock()
	if len(s.perClient) >= maxCachedClients {
		s.evictLocked(now)
	}
	s.perClient[clientID] = cachedOrigins{origins: origins, at: now}
	s.mu.Unlock()
	return origins, nil
}

// evictLocked drops expired entries, and everything if none had expired
// (a full cache of live entries is a flood of distinct ids).
func (s *StoreOrigins) evictLocked(now time.Time) {
	for id, e := range s.perClient {
		if now.Sub(e.at) >= s.ttl {
			delete(s.perClient, id)
		}
	}
	if len(s.perClient) >= maxCachedClients {
		clear(s.perClient)
	}
}

// AnyClientAllows reports whether some client allows origin. It keeps the
// union of every client's origins, rebuilt by paging through all clients
// once per TTL.
func (s *StoreOrigins) AnyClientAllows(ctx context.Context, origin string) (bool, error) {
	origin = NormalizeOrigin(origin)
	if origin == "" {
		return false, nil
	}
	now := s.now()
	s.mu.Lock()
	all, at := s.all, s.allAt
	s.mu.Unlock()
	if all == nil || now.Sub(at) >= s.ttl {
		v, err, _ := s.group.Do("all", func() (any, error) { return s.loadAll(ctx) })
		if err != nil {
			return false, err
		}
		all = v.(map[string]struct{})
		s.mu.Lock()
		s.all, s.allAt = all, now
		s.mu.Unlock()
	}
	_, ok := all[origin]
	return ok, nil
}

func (s *StoreOrigins) loadAll(ctx context.Context) (map[string]struct{}, error) {
	set := map[string]struct{}{}
	opts := storage.ListOptions{Limit: storage.MaxListLimit}
	for {
		clients, next, err := s.store.ListClients(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("httpx: load CORS origins of all clients: %w", err)
		}
		for _, c := range clients {
			for _, o := range normalizeAll(c.AllowedCORSOrigins) {
				set[o] = struct{}{}
			}
		}
		if next == "" {
			return set, nil
		}
		opts.Cursor = next
	}
}

func normalizeAll(in []string) []string {
	out := make([]string, 0, len(in))
	for _, o := range in {
		if n := NormalizeOrigin(o); n != "" {
			out = append(out, n)
		}
	}
	return out
}

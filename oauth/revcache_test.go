package oauth

import (
	"context"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/postgres"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
	"github.com/sesameauth/sesame/storage/sqlite"
)

func TestRevCache(t *testing.T) {
	var epoch atomic.Uint64
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	c := newRevCache(time.Second, clock, epoch.Load)

	st := c.stamp()
	c.put("k", 1, st)
	if v, ok := c.get("k"); !ok || v != 1 {
		t.Fatalf("fresh entry: %v %v", v, ok)
	}

	// A revoking write anywhere in this process (the store's epoch).
	epoch.Add(1)
	if _, ok := c.get("k"); ok {
		t.Fatal("entry survived a change of the revocation epoch")
	}

	// A load that began before a revocation must not be stored after it.
	st = c.stamp()
	epoch.Add(1) // the revocation commits while the load reads
	c.put("k", 2, st)
	if _, ok := c.get("k"); ok {
		t.Fatal("a load begun before a revocation was cached")
	}

	// Another process's revocation (notification).
	st = c.stamp()
	c.put("k", 3, st)
	c.invalidate()
	if _, ok := c.get("k"); ok {
		t.Fatal("entry survived InvalidateRevocations")
	}
	c.put("k", 4, st) // stamp from before the invalidation
	if _, ok := c.get("k"); ok {
		t.Fatal("a load begun before an invalidation was cached")
	}

	// The TTL bounds what nothing announces.
	c.put("k", 5, c.stamp())
	now = now.Add(999 * time.Millisecond)
	if _, ok := c.get("k"); !ok {
		t.Fatal("entry expired before its TTL")
	}
	now = now.Add(2 * time.Millisecond)
	if _, ok := c.get("k"); ok {
		t.Fatal("entry served past its TTL")
	}

	if newRevCache(-1, clock, epoch.Load) != nil {
		t.Fatal("a negative TTL must turn the cache off")
	}
	var off *revCache
	off.put("k", 1, off.stamp())
	if _, ok := off.get("k"); ok {
		t.Fatal("a nil cache served an entry")
	}
}

// TestRevocationCacheNeverHidesARevocation: introspection warms the cache,
// then every kind of revocation made through this process bites on the
// very next introspection, and one made by another process (another store
// on the same database: the CLI, another instance) bites at once after
// InvalidateRevocations and, without it, within the TTL.
func TestRevocationCacheNeverHidesARevocation(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, withConfig(func(c *Config) { c.RevocationCacheTTL = time.Hour }))
		for _, format := range []string{FormatJWT, FormatOpaque} {
			c, sec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}, AccessTokenFormat: format})
			tok := e.clientCredentials(c.ID, sec, nil).str("access_token")
			for range 3 {
				if !e.active(tok, c.ID, sec) {
					t.Fatalf("%s: fresh token inactive", format)
				}
			}
			if r := e.post(PathRevoke, url.Values{"token": {tok}}, c.ID, sec); r.status != http.StatusOK {
				t.Fatalf("revoke: %d %s", r.status, r.raw)
			}
			if e.active(tok, c.ID, sec) {
				t.Fatalf("%s: revoked token still active from the cache", format)
			}
		}
	})
}

// reopen is a second store on e's database, as another process has.
func reopen(t *testing.T, st storage.Store) storage.Store {
	t.Helper()
	switch s := st.(type) {
	case *sqlite.Store:
		o, err := sqlite.Open(context.Background(), s.Path())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = o.Close() })
		return o
	case *postgres.Store:
		return pgtest.Reopen(t, s)
	}
	t.Fatalf("reopen: store %T", st)
	return nil
}

func TestRevocationCacheOtherProcess(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		for _, ttl := range []time.Duration{time.Hour, 300 * time.Millisecond} {
			e := newEnv(t, b, withConfig(func(c *Config) { c.RevocationCacheTTL = ttl }))
			other := reopen(t, e.store)
			for _, format := range []string{FormatJWT, FormatOpaque} {
				c, sec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}, AccessTokenFormat: format})
				tok := e.clientCredentials(c.ID, sec, nil).str("access_token")
				if !e.active(tok, c.ID, sec) {
					t.Fatalf("%s: fresh token inactive", format)
				}
				// `sesame tokens revoke --client` in another process.
				if _, err := other.RevokeGrants(context.Background(), storage.GrantFilter{ClientID: c.ID}, "test", time.Now()); err != nil {
					t.Fatal(err)
				}
				if ttl == time.Hour {
					// Nothing this process saw: the cache still answers
					// until told (the server wires this to Postgres NOTIFY).
					e.h.InvalidateRevocations()
					if e.active(tok, c.ID, sec) {
						t.Fatalf("%s: active after InvalidateRevocations", format)
					}
					continue
				}
				if _, ok := within(3*time.Second, func() bool { return !e.active(tok, c.ID, sec) }); !ok {
					t.Fatalf("%s: still active 3s after another process revoked it (TTL %s)", format, ttl)
				}
			}
		}
	})
}

func within(d time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > d {
			return time.Since(start), false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

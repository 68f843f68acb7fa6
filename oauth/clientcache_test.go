package oauth

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// TestClientCache: a cached client serves token requests without a store
// read, a change written elsewhere shows at once after InvalidateClient and
// within the TTL without it.
func TestClientCache(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		tests := []struct {
			name       string
			change     func(t *testing.T, c storage.Client)
			invalidate bool
		}{
			{"secret rotated, invalidated", func(t *testing.T, c storage.Client) {
				c.SecretHash = e.ring.HashClientSecret("new-secret")
				if err := e.store.UpdateClient(ctx, c); err != nil {
					t.Fatal(err)
				}
			}, true},
			{"deleted, invalidated", func(t *testing.T, c storage.Client) {
				if err := e.store.DeleteClient(ctx, c.ID); err != nil {
					t.Fatal(err)
				}
			}, true},
			{"deleted, TTL expires", func(t *testing.T, c storage.Client) {
				if err := e.store.DeleteClient(ctx, c.ID); err != nil {
					t.Fatal(err)
				}
			}, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c, sec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}})
				mustToken(t, e.clientCredentials(c.ID, sec, nil)) // cached now
				tt.change(t, c)
				// Still cached: the old registration keeps working.
				mustToken(t, e.clientCredentials(c.ID, sec, nil))
				if tt.invalidate {
					e.h.InvalidateClient(c.ID)
				} else {
					e.clock.Advance(defaultClientCacheTTL + time.Second)
				}
				if r := e.clientCredentials(c.ID, sec, nil); r.status != http.StatusUnauthorized {
					t.Fatalf("old registration still accepted: %d %s", r.status, r.raw)
				}
			})
		}
	})
}

func TestClientCacheBounds(t *testing.T) {
	now := time.Unix(1000, 0)
	cc := newClientCache(time.Minute, func() time.Time { return now })
	client := func(id string) *Client { return &Client{c: storage.Client{ID: id}} }

	t.Run("a load racing an invalidation is not stored", func(t *testing.T) {
		_, gen := cc.get("a")
		cc.invalidate("a")
		cc.put(client("a"), gen)
		if c, _ := cc.get("a"); c != nil {
			t.Fatal("stale load stored after invalidation")
		}
	})
	t.Run("size is bounded", func(t *testing.T) {
		for i := range clientCacheMax + 10 {
			_, gen := cc.get("x")
			cc.put(client(fmt.Sprint("c", i)), gen)
		}
		if n := len(cc.m); n > clientCacheMax {
			t.Fatalf("%d entries, max %d", n, clientCacheMax)
		}
	})
	t.Run("entries expire", func(t *testing.T) {
		_, gen := cc.get("e")
		cc.put(client("e"), gen)
		now = now.Add(2 * time.Minute)
		if c, _ := cc.get("e"); c != nil {
			t.Fatal("expired entry returned")
		}
	})
	t.Run("negative TTL turns caching off", func(t *testing.T) {
		off := newClientCache(-1, time.Now)
		off.put(client("z"), 0)
		if c, _ := off.get("z"); c != nil || off != nil {
			t.Fatal("cache not off")
		}
	})
}

package keys

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// interleavingStore runs before() once, just before the first ActivateKey
// reaches the store: a deterministic way to let another instance win the
// race in between this instance's CreateKey and ActivateKey.
type interleavingStore struct {
	storage.KeyStore
	once   sync.Once
	before func()
}

func (s *interleavingStore) ActivateKey(ctx context.Context, kid, prevKID string, at, retireAfter time.Time) error {
	s.once.Do(s.before)
	return s.KeyStore.ActivateKey(ctx, kid, prevKID, at, retireAfter)
}

func TestLosingARaceLeavesExactlyOneNewKey(t *testing.T) {
	forEachBackend(t, testLosingARaceLeavesExactlyOneNewKey)
}

func testLosingARaceLeavesExactlyOneNewKey(t *testing.T, open storeFactory) {
	ctx := context.Background()
	ring := testRing(t, 1)
	opts := Options{Algorithms: []string{ES256}}

	t.Run("first start", func(t *testing.T) {
		sq := open(t)
		var winner *Manager
		loserStore := &interleavingStore{KeyStore: sq, before: func() {
			winner = newManager(t, sq, ring, opts)
		}}
		loser := newManager(t, loserStore, ring, opts)
		got := byState(t, sq, ES256)
		if got[storage.KeyActive] != 1 || got[storage.KeyPending] != 0 || got[storage.KeyRetired] != 0 {
			t.Errorf("after a lost first-start race: %v, want exactly one active key", got)
		}
		a, _ := loser.Active(ctx, ES256)
		b, _ := winner.Active(ctx, ES256)
		if a.KID != b.KID {
			t.Errorf("loser signs with %s, winner with %s", a.KID, b.KID)
		}
	})

	t.Run("manual rotation", func(t *testing.T) {
		sq := open(t)
		winner := newManager(t, sq, ring, opts)
		old, _ := winner.Active(ctx, ES256)
		var won Info
		loserStore := &interleavingStore{KeyStore: sq, before: func() {
			var err error
			if won, err = winner.Rotate(ctx, ES256); err != nil {
				t.Errorf("winner Rotate: %v", err)
			}
		}}
		loser := newManager(t, loserStore, ring, opts)
		got, err := loser.Rotate(ctx, ES256)
		if err != nil {
			t.Fatalf("losing Rotate: %v", err)
		}
		if got.KID != won.KID {
			t.Errorf("losing Rotate reported %s, want the winner's key %s", got.KID, won.KID)
		}
		states := byState(t, sq, ES256)
		if states[storage.KeyActive] != 1 || states[storage.KeyRetired] != 1 || states[storage.KeyPending] != 0 {
			t.Errorf("after a lost rotation race: %v, want 1 active (new), 1 retired (old), 0 pending", states)
		}
		if k, err := loser.Lookup(ctx, old.KID); err != nil || k.State != storage.KeyRetired {
			t.Errorf("old key on the loser: %v, %v", k, err)
		}
	})
}

package server

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/sqlite"
)

func TestClientWritesAnnouncedAfterCommit(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	a := &clientAnnouncer{Store: st, announce: func(id string) { mu.Lock(); got = append(got, id); mu.Unlock() }}
	announced := func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(got) }
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, id := range []string{"c1", "c2", "c3", "c4"} {
		if err := st.CreateClient(ctx, storage.Client{ID: id, Name: id, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	update := func(ctx context.Context, id string) error {
		c, err := a.GetClient(ctx, id)
		if err != nil {
			return err
		}
		c.Name = "changed"
		return a.UpdateClient(ctx, c)
	}

	if err := update(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if g := announced(); !slices.Equal(g, []string{"c1"}) {
		t.Fatalf("write outside a transaction: announced %v, want [c1]", g)
	}

	err = storage.InTx(ctx, a, func(ctx context.Context) error {
		if err := update(ctx, "c2"); err != nil {
			return err
		}
		if g := announced(); len(g) != 1 {
			t.Errorf("announced %v before the commit", g)
		}
		// A nested transaction commits nothing and announces nothing.
		return storage.InTx(ctx, a, func(ctx context.Context) error { return a.DeleteClient(ctx, "c3") })
	})
	if err != nil {
		t.Fatal(err)
	}
	if g := announced(); !slices.Equal(g, []string{"c1", "c2", "c3"}) {
		t.Fatalf("after commit: announced %v, want [c1 c2 c3]", g)
	}

	boom := errors.New("boom")
	err = storage.InTx(ctx, a, func(ctx context.Context) error {
		if err := update(ctx, "c4"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if g := announced(); len(g) != 3 {
		t.Fatalf("rolled-back write was announced: %v", g)
	}
}

package app

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/sesameauth/sesame/storage"
)

// TestConcurrentRotationLosesNoSecret: with keep-old, every secret handed
// out by a successful rotation must keep verifying. A rotation built on a
// stale read would drop one silently; compare-and-swap turns that into a
// conflict the caller sees instead.
func TestConcurrentRotationLosesNoSecret(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		svc := newService(t, st)
		spec := webApp()
		spec.ID = "rot"
		_, first, err := svc.CreateClient(ctx, "cli", spec)
		if err != nil {
			t.Fatal(err)
		}
		var (
			mu      sync.Mutex
			secrets = []string{first}
			wg      sync.WaitGroup
		)
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, sec, err := svc.RotateClientSecret(ctx, "cli", "rot", true)
				switch {
				case err == nil:
					mu.Lock()
					secrets = append(secrets, sec)
					mu.Unlock()
				case errors.Is(err, storage.ErrConflict):
				default:
					// SQLite may report a busy database under contention;
					// that is a visible failure too, never a silent loss.
					t.Logf("rotation failed: %v", err)
				}
			}()
		}
		wg.Wait()
		if len(secrets) < 2 {
			t.Fatal("no rotation succeeded")
		}
		c, err := svc.GetClient(ctx, "rot")
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range secrets {
			if !svc.VerifyClientSecret(c, s) {
				t.Fatalf("secret #%d of %d (from a successful rotation) no longer verifies", i, len(secrets))
			}
		}
	})
}

package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/sqlite"
	"github.com/sesameauth/sesame/storage/storagetest"
)

// TestConformance runs the storage conformance suite on a fresh SQLite file
// per subtest.
func TestConformance(t *testing.T) {
	storagetest.Run(t, storagetest.Harness{
		New: func(t *testing.T) storage.Store {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
			if err != nil {
				t.Fatalf("sqlite.Open: %v", err)
			}
			// Close may already have run through Break; closing twice is
			// harmless, so the error is only checked in Break.
			t.Cleanup(func() { _ = s.Close() })
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			return s
		},
		// Closing the store is what "the database is gone" means for an
		// embedded file: the pool is released and any transaction still
		// open is rolled back by Close.
		Break: func(t *testing.T, s storage.Store) {
			if err := s.Close(); err != nil {
				t.Fatalf("Break: Close: %v", err)
			}
		},
		Reopen: func(t *testing.T, s storage.Store) storage.Store {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			r, err := sqlite.Open(ctx, s.(*sqlite.Store).Path())
			if err != nil {
				t.Fatalf("Reopen: sqlite.Open: %v", err)
			}
			t.Cleanup(func() { _ = r.Close() })
			return r
		},
	})
}

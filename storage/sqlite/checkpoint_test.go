package sqlite

import (
	"context"
	"os"
	"testing"
	"time"
)

// Commits never checkpoint (wal_autocheckpoint is 0), yet the WAL reaches
// the database file: the background checkpointer copies it there.
func TestBackgroundCheckpoint(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	var auto int
	if err := s.db.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("wal_autocheckpoint = %d (%v), want 0 on every pooled connection", auto, err)
	}
	// Let a checkpoint of the migrated schema pass, then measure.
	time.Sleep(2 * checkpointEvery)
	before := fileSize(t, s.path)
	for i := range 300 {
		if _, err := s.q(ctx).ExecContext(ctx, `INSERT INTO nonces (ns, value, expires_at) VALUES ('c', ?, ?)`,
			i, ts(time.Now().Add(time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for fileSize(t, s.path) <= before {
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes 10s after 300 commits: nothing checkpointed", before)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Close stops the checkpointer (and a second Close does not hang).
func TestCheckpointerStopsOnClose(t *testing.T) {
	s := newStore(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.checkpointsDone:
	case <-time.After(5 * time.Second):
		t.Fatal("checkpointer still running after Close")
	}
	_ = s.Close()
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

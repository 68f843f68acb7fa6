package sqlite

import (
	"context"
	"log/slog"
	"time"
)

// WAL checkpoints run in the background, not in the committing request.
//
// By default SQLite checkpoints inside the commit that pushes the WAL past
// 1,000 pages: that commit copies the pages back into the database file
// and syncs it while holding the write lock, and every writer queued
// behind it waits. Under refresh-token load at concurrency 16 that was the
// p99 (58 ms for a 12 ms median); with the checkpoint moved off the
// request path, p99 fell to ~25 ms and throughput rose by ~45%
// (docs/benchmarks.md). Every connection of the pool therefore has
// wal_autocheckpoint(0) and the store runs a PASSIVE checkpoint every
// checkpointEvery: it copies what no reader still needs, never takes the
// write lock and never waits. If readers keep the WAL from being recycled
// and it passes checkpointRestartPages, one RESTART checkpoint (which
// waits, up to the busy timeout, for those readers) bounds it.
//
// Another process on the same file (the CLI next to `serve`) runs its own
// checkpointer while open, and the last connection to close checkpoints
// and removes the WAL as usual.
const (
	checkpointEvery        = 500 * time.Millisecond
	checkpointRestartPages = 16384 // 64 MiB of 4 KiB pages
)

// checkpointer runs until stop is closed, then closes done.
func (s *Store) checkpointer(every time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		frames, err := s.checkpoint("PASSIVE")
		if err == nil && frames > checkpointRestartPages {
			_, err = s.checkpoint("RESTART")
		}
		if err != nil {
			// A closed store or a transient error: the next tick retries,
			// and the WAL is only longer meanwhile.
			slog.Debug("sqlite: background checkpoint failed", "err", err)
		}
	}
}

// checkpoint runs one checkpoint of mode and returns the WAL's length in
// frames (pages) at the time.
func (s *Store) checkpoint(mode string) (frames int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.busyTimeout+time.Second)
	defer cancel()
	var busy, log, done int
	err = s.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &log, &done)
	return log, err
}

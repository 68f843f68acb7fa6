package sqlite

import (
	"context"
	"testing"
	"time"
)

// A writer waiting at the gate goes in the moment the holder leaves.
func TestWriteGateHandsOver(t *testing.T) {
	g := newWriteGate(5 * time.Second)
	leave := g.enter(context.Background())
	entered := make(chan time.Time, 1)
	go func() {
		l := g.enter(context.Background())
		entered <- time.Now()
		l()
	}()
	select {
	case <-entered:
		t.Fatal("a second writer passed a held gate")
	case <-time.After(50 * time.Millisecond):
	}
	left := time.Now()
	leave()
	select {
	case at := <-entered:
		if d := at.Sub(left); d > time.Second {
			t.Fatalf("the waiter went in %v after the gate was left", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter never went in")
	}
}

// Waiting is bounded: by ctx, and by the busy timeout, after which the
// writer goes on (to SQLite's own busy handling) without holding the gate.
func TestWriteGateBoundedWait(t *testing.T) {
	g := newWriteGate(100 * time.Millisecond)
	leave := g.enter(context.Background())
	defer leave()

	start := time.Now()
	g.enter(context.Background())() // times out; its leave must be a no-op
	if d := time.Since(start); d < 100*time.Millisecond || d > 3*time.Second {
		t.Fatalf("timed-out wait took %v, want ~100ms", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	g.enter(ctx)()
	// The holder still holds it: the no-op leaves did not release it.
	select {
	case g.ch <- struct{}{}:
		t.Fatal("an abandoned wait released the holder's gate")
	default:
	}
}

// Concurrent write transactions and plain writes of one store all go
// through, one at a time, and the gate is free afterwards.
func TestWriteGateUnderConcurrentWrites(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	errs := make(chan error, 32)
	for i := range 32 {
		go func() {
			if i%2 == 0 {
				errs <- s.inTx(ctx, func(q querier) error {
					_, err := q.ExecContext(ctx, `INSERT INTO nonces (ns, value, expires_at) VALUES ('t', ?, ?)`,
						i, ts(time.Now().Add(time.Hour)))
					return err
				})
				return
			}
			_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO nonces (ns, value, expires_at) VALUES ('t', ?, ?)`,
				i, ts(time.Now().Add(time.Hour)))
			errs <- err
		}()
	}
	for range 32 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM nonces WHERE ns = 't'`).Scan(&n); err != nil || n != 32 {
		t.Fatalf("rows = %d (%v), want 32", n, err)
	}
	select {
	case s.gate.ch <- struct{}{}:
		<-s.gate.ch
	default:
		t.Fatal("the write gate is still held after every writer finished")
	}
}

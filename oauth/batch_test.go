package oauth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// recordingWriter is a tokenWriter that records its commits and can hold
// them at a gate, fail them, or fail one signature.
type recordingWriter struct {
	mu      sync.Mutex
	rows    map[string]bool
	commits [][]string
	gate    chan struct{} // when set, every commit waits for a receive
	entered chan struct{} // signalled when a commit starts waiting at gate
	failAll error
	bad     string // a signature whose insert conflicts
	panics  atomic.Bool
}

func newRecordingWriter() *recordingWriter { return &recordingWriter{rows: map[string]bool{}} }

func (w *recordingWriter) wait() {
	if w.gate != nil {
		w.entered <- struct{}{}
		<-w.gate
	}
}

func (w *recordingWriter) CreateToken(ctx context.Context, rec storage.TokenRecord) error {
	return w.CreateTokens(ctx, []storage.TokenRecord{rec})
}

func (w *recordingWriter) CreateTokens(ctx context.Context, recs []storage.TokenRecord) error {
	w.wait()
	if err := ctx.Err(); err != nil {
		return err // a real store refuses a cancelled context too
	}
	if w.panics.Load() {
		panic("store exploded")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failAll != nil {
		return w.failAll
	}
	var sigs []string
	for _, r := range recs {
		if r.Signature == w.bad || w.rows[r.Signature] {
			return storage.ErrConflict
		}
		sigs = append(sigs, r.Signature)
	}
	for _, s := range sigs {
		w.rows[s] = true
	}
	w.commits = append(w.commits, sigs)
	return nil
}

func rec(sig string) storage.TokenRecord {
	return storage.TokenRecord{Kind: storage.KindAccessToken, Signature: sig}
}

// A lone request is written at once, alone.
func TestTokenBatcherLoneRow(t *testing.T) {
	w := newRecordingWriter()
	b := newTokenBatcher(w, 64, time.Second)
	if err := b.create(context.Background(), rec("a")); err != nil {
		t.Fatal(err)
	}
	if len(w.commits) != 1 || len(w.commits[0]) != 1 || !w.rows["a"] {
		t.Fatalf("commits = %v", w.commits)
	}
}

// Rows that queue while a commit is running go out together in the next
// commit, bounded by max, and every caller gets its own result.
func TestTokenBatcherGroupsWaitingRows(t *testing.T) {
	w := newRecordingWriter()
	w.gate, w.entered = make(chan struct{}), make(chan struct{})
	b := newTokenBatcher(w, 4, time.Second)

	errs := make(chan error, 11)
	go func() { errs <- b.create(context.Background(), rec("leader")) }()
	<-w.entered // the first commit holds the write; the others queue
	for i := range 10 {
		go func() { errs <- b.create(context.Background(), rec(fmt.Sprint("r", i))) }()
	}
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.queue) == 10 })
	go func() {
		for range w.entered {
			w.gate <- struct{}{}
		}
	}()
	w.gate <- struct{}{}
	for range 11 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(w.entered)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.rows) != 11 {
		t.Fatalf("rows = %d, want 11", len(w.rows))
	}
	// 1 (the leader) + 10 waiting rows in batches of at most 4.
	if len(w.commits) != 4 {
		t.Fatalf("commits = %v, want 4 (1+4+4+2)", w.commits)
	}
	for _, c := range w.commits[1:] {
		if len(c) > 4 {
			t.Fatalf("a commit carried %d rows, max 4", len(c))
		}
	}
	if b.flushing || len(b.queue) != 0 {
		t.Fatalf("batcher not idle: flushing=%v queue=%d", b.flushing, len(b.queue))
	}
}

// One conflicting row fails only its own request: the batch is retried
// row by row.
func TestTokenBatcherConflictFailsOnlyItsRow(t *testing.T) {
	w := newRecordingWriter()
	w.gate, w.entered = make(chan struct{}), make(chan struct{})
	w.bad = "bad"
	b := newTokenBatcher(w, 64, time.Second)

	first := make(chan error, 1)
	go func() { first <- b.create(context.Background(), rec("first")) }()
	<-w.entered
	res := map[string]chan error{}
	for _, s := range []string{"x", "bad", "y"} {
		ch := make(chan error, 1)
		res[s] = ch
		go func() { ch <- b.create(context.Background(), rec(s)) }()
	}
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.queue) == 3 })
	go func() {
		for range w.entered {
			w.gate <- struct{}{}
		}
	}()
	w.gate <- struct{}{}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-res["bad"]; !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("bad row: err = %v, want ErrConflict", err)
	}
	for _, s := range []string{"x", "y"} {
		if err := <-res[s]; err != nil {
			t.Fatalf("row %s: %v", s, err)
		}
	}
	close(w.entered)
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.rows["x"] || !w.rows["y"] || w.rows["bad"] {
		t.Fatalf("rows = %v", w.rows)
	}
}

// An outage fails every row with the store's error, and the batcher
// recovers when the store does.
func TestTokenBatcherOutage(t *testing.T) {
	w := newRecordingWriter()
	down := errors.New("connection refused")
	w.failAll = down
	b := newTokenBatcher(w, 64, time.Second)
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.create(context.Background(), rec(fmt.Sprint(i))); errors.Is(err, down) {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if failed.Load() != 20 {
		t.Fatalf("%d of 20 requests saw the outage", failed.Load())
	}
	w.mu.Lock()
	w.failAll = nil
	w.mu.Unlock()
	if err := b.create(context.Background(), rec("after")); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

// A panicking store fails the batch's rows and the panic reaches the
// leader; later requests are not stuck behind a dead leader.
func TestTokenBatcherPanicDoesNotWedge(t *testing.T) {
	w := newRecordingWriter()
	w.panics.Store(true)
	b := newTokenBatcher(w, 64, time.Second)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the leader did not see the panic")
			}
		}()
		_ = b.create(context.Background(), rec("boom"))
	}()
	w.panics.Store(false)
	done := make(chan error, 1)
	go func() { done <- b.create(context.Background(), rec("next")) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the batcher is wedged after a panic")
	}
}

// A leader whose request was cancelled still commits the rows of others.
func TestTokenBatcherLeaderCancelled(t *testing.T) {
	w := newRecordingWriter()
	b := newTokenBatcher(w, 64, time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.create(ctx, rec("c")); err != nil {
		t.Fatalf("cancelled leader: %v", err)
	}
	if !w.rows["c"] {
		t.Fatal("row not written")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

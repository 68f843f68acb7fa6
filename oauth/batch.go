package oauth

import (
	"context"
	"sync"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// tokenBatcher is a group commit for token rows written outside any
// transaction (opaque client_credentials tokens, the hottest write).
// Concurrent requests queue their rows; one of them (the leader) writes
// everything queued in one commit while the next batch gathers behind it,
// then hands the lead to the first waiter. No timer and no background
// goroutine: a lone request is written at once, alone, and under load a
// commit (one SQLite WAL write, or one Postgres round trip and WAL flush)
// carries many tokens instead of one.
//
// Each caller still gets its own outcome: when a batch fails, its rows are
// retried one by one so that one bad row (a conflict) fails only its own
// request, and an outage fails each with the store's error.
const (
	// tokenBatchMax bounds a commit: large enough that a burst at
	// concurrency 16–64 commits in one or two batches, small enough that
	// a SQLite write transaction stays short for readers and other writers.
	tokenBatchMax = 64
	// tokenBatchDeadline bounds one commit, whoever's request leads it:
	// the leader's own cancellation must not fail the rows of others.
	tokenBatchDeadline = 10 * time.Second
)

type tokenBatcher struct {
	store    tokenWriter
	max      int           // rows per commit
	deadline time.Duration // bound on one commit, whoever's request leads it

	mu       sync.Mutex
	queue    []*pendingRow
	flushing bool
}

// tokenWriter is the part of storage the batcher writes through.
type tokenWriter interface {
	CreateToken(ctx context.Context, rec storage.TokenRecord) error
	CreateTokens(ctx context.Context, recs []storage.TokenRecord) error
}

type pendingRow struct {
	rec  storage.TokenRecord
	done chan rowResult // buffered: the writer never blocks on it
}

type rowResult struct {
	err  error
	lead bool // not written yet: the receiver leads the next batch
}

func newTokenBatcher(w tokenWriter, max int, deadline time.Duration) *tokenBatcher {
	if max < 1 {
		max = 1
	}
	return &tokenBatcher{store: w, max: max, deadline: deadline}
}

// create stores rec, in a batch with whatever other rows are waiting. It
// waits for the commit even if ctx ends first: the row may be written
// either way, and the answer must say whether it was. ctx's values (but not
// its cancellation) reach the store through the leader's write.
func (b *tokenBatcher) create(ctx context.Context, rec storage.TokenRecord) error {
	p := &pendingRow{rec: rec, done: make(chan rowResult, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, p)
	if b.flushing {
		b.mu.Unlock()
		res := <-p.done
		if !res.lead {
			return res.err
		}
	} else {
		b.flushing = true
		b.mu.Unlock()
	}
	// This request leads: write up to max queued rows (its own among
	// them: it is queued and nobody else takes rows while it leads).
	b.mu.Lock()
	n := min(len(b.queue), b.max)
	batch := b.queue[:n:n]
	b.queue = b.queue[n:]
	b.mu.Unlock()

	func() {
		defer b.handOff(batch)
		b.write(ctx, batch)
	}()
	return b.resultOf(p, batch)
}

// handOff passes the lead on to the oldest waiter, or stands down. On a
// panic in the store (re-raised) every row of the batch that has no result
// yet fails, so that no waiter and no later request hangs on a dead leader.
func (b *tokenBatcher) handOff(batch []*pendingRow) {
	p := recover()
	if p != nil {
		for _, q := range batch {
			select {
			case q.done <- rowResult{err: errLeaderPanicked}:
			default: // already answered
			}
		}
	}
	b.mu.Lock()
	if len(b.queue) > 0 {
		b.queue[0].done <- rowResult{lead: true}
	} else {
		b.flushing = false
	}
	b.mu.Unlock()
	if p != nil {
		panic(p)
	}
}

// resultOf returns the leader's own result. The leader's row is always in
// the batch it writes: it was queued before it took the lead and rows are
// taken in order.
func (b *tokenBatcher) resultOf(p *pendingRow, batch []*pendingRow) error {
	for _, q := range batch {
		if q == p {
			return (<-p.done).err
		}
	}
	// Unreachable by construction; fail closed rather than hang.
	return errLeaderNotInBatch
}

type batcherError string

func (e batcherError) Error() string { return string(e) }

const (
	errLeaderNotInBatch = batcherError("oauth: token batch lost its leader's row")
	errLeaderPanicked   = batcherError("oauth: token batch write panicked")
)

// write commits batch and delivers every row's result.
func (b *tokenBatcher) write(ctx context.Context, batch []*pendingRow) {
	wctx := context.WithoutCancel(ctx)
	if b.deadline > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(wctx, b.deadline)
		defer cancel()
	}
	if len(batch) == 1 {
		batch[0].done <- rowResult{err: b.store.CreateToken(wctx, batch[0].rec)}
		return
	}
	recs := make([]storage.TokenRecord, len(batch))
	for i, p := range batch {
		recs[i] = p.rec
	}
	if err := b.store.CreateTokens(wctx, recs); err == nil {
		for _, p := range batch {
			p.done <- rowResult{}
		}
		return
	}
	// All or none failed: find out row by row whose fault it was.
	for _, p := range batch {
		p.done <- rowResult{err: b.store.CreateToken(wctx, p.rec)}
	}
}

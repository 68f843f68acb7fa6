package notify

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sesameauth/sesame/storage/postgres/pgtest"
)

// recorder collects payloads per topic.
type recorder struct {
	mu  sync.Mutex
	got []string
	ch  chan string
}

func newRecorder() *recorder { return &recorder{ch: make(chan string, 100)} }

func (r *recorder) fn(p string) {
	r.mu.Lock()
	r.got = append(r.got, p)
	r.mu.Unlock()
	r.ch <- p
}

// wait returns the next payload that is not the reconnect signal "".
func (r *recorder) wait(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case p := <-r.ch:
			if p == want {
				return
			}
		case <-deadline:
			t.Fatalf("payload %q not delivered within 5s", want)
		}
	}
}

func TestLocalDeliversToTopicSubscribersOnly(t *testing.T) {
	b := NewLocal()
	keys, other := newRecorder(), newRecorder()
	b.Subscribe("keys", keys.fn)
	b.Subscribe("clients", other.fn)
	if err := b.Publish(context.Background(), "keys", "k1"); err != nil {
		t.Fatal(err)
	}
	if len(keys.got) != 1 || keys.got[0] != "k1" {
		t.Errorf("keys subscriber got %q", keys.got)
	}
	if len(other.got) != 0 {
		t.Errorf("clients subscriber got %q for a keys event", other.got)
	}
}

func newPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// startBus runs a Postgres bus until the test ends and waits until it is
// listening.
func startBus(t *testing.T, pool *pgxpool.Pool) (*Postgres, chan struct{}) {
	t.Helper()
	b := NewPostgres(pool, nil)
	b.ReconnectDelay = 100 * time.Millisecond
	connected := make(chan struct{}, 10)
	b.connected = func() { connected <- struct{}{} }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return b, connected
}

func TestPostgresBusReachesEveryInstance(t *testing.T) {
	url := pgtest.URL(t)
	var recs []*recorder
	var buses []*Postgres
	for range 3 {
		b, connected := startBus(t, newPool(t, url))
		r := newRecorder()
		b.Subscribe("keys", r.fn)
		select {
		case <-connected:
		case <-time.After(5 * time.Second):
			t.Fatal("bus never connected")
		}
		recs, buses = append(recs, r), append(buses, b)
	}
	start := time.Now()
	if err := buses[0].Publish(context.Background(), "keys", "rotated"); err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		r.wait(t, "rotated")
		if d := time.Since(start); d > time.Second {
			t.Errorf("instance %d got the event after %s", i, d)
		}
	}
}

func TestPostgresBusReconnectsAndSignalsResync(t *testing.T) {
	url := pgtest.URL(t)
	pool := newPool(t, url)
	b, connected := startBus(t, pool)
	r := newRecorder()
	b.Subscribe("keys", r.fn)
	<-connected
	r.wait(t, "") // first connection: reload signal
	// Kill the listening session (a failover or a restarted database).
	if _, err := pool.Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE 'listen%'`); err != nil {
		t.Fatal(err)
	}
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("listener did not reconnect")
	}
	r.wait(t, "") // told to reload what it may have missed
	if err := b.Publish(context.Background(), "keys", "after"); err != nil {
		t.Fatal(err)
	}
	r.wait(t, "after")
}

func TestPublishRefusesOversizePayload(t *testing.T) {
	b := NewPostgres(nil, nil)
	err := b.Publish(context.Background(), "keys", strings.Repeat("x", maxPayload+1))
	if err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("err = %v", err)
	}
}

package notify

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sesameauth/sesame/storage"
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

// startBus runs a Postgres bus until the test ends. connected receives,
// on each (re)connection, the channels the connection listened on when the
// subscribers were told to reload.
func startBus(t *testing.T, pool *pgxpool.Pool) (*Postgres, chan []string) {
	t.Helper()
	b := NewPostgres(pool, nil)
	b.ReconnectDelay = 100 * time.Millisecond
	connected := make(chan []string, 10)
	b.connected = func(conn *pgx.Conn) {
		rows, err := conn.Query(context.Background(), "SELECT pg_listening_channels()")
		if err != nil {
			t.Errorf("pg_listening_channels: %v", err)
		}
		chans, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Errorf("pg_listening_channels: %v", err)
		}
		slices.Sort(chans)
		connected <- chans
	}
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
	killListener(t, pool)
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

// killListener terminates the listening session (a failover or a
// restarted database).
func killListener(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name LIKE '%listener'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("terminated %d listener sessions, want 1", n)
	}
}

// TestPostgresBusReloadsOnlyOnceListeningOnEveryChannel reconnects the
// listener several times: each time the subscribers are told to reload
// only after the connection listens on both channels, so that nothing
// committed after the reload can go unheard (a revocation notified on
// sesame_revocations in between would otherwise leave a flushed cache
// stale until its TTL). It also checks that a revocation notice after a
// reconnection reaches the revocation subscribers.
func TestPostgresBusReloadsOnlyOnceListeningOnEveryChannel(t *testing.T) {
	pool := newPool(t, pgtest.URL(t))
	b, connected := startBus(t, pool)
	revs := newRecorder()
	b.Subscribe(TopicRevocations, revs.fn)
	want := []string{Channel, storage.RevocationChannel}
	slices.Sort(want)
	// pgxlisten walks its handlers in map order: several reconnections
	// cover both orders.
	for i := range 8 {
		select {
		case got := <-connected:
			if !slices.Equal(got, want) {
				t.Fatalf("connection %d: reload signalled while listening on %q, want %q", i, got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("connection %d: listener did not (re)connect", i)
		}
		revs.wait(t, "")
		if i < 7 {
			killListener(t, pool)
		}
	}
	if _, err := pool.Exec(context.Background(), "SELECT pg_notify($1, '')", storage.RevocationChannel); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-revs.ch:
		if p != "" {
			t.Fatalf("revocation subscriber got %q", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("revocation notice after reconnection not delivered")
	}
}

func TestPublishRefusesOversizePayload(t *testing.T) {
	b := NewPostgres(nil, nil)
	err := b.Publish(context.Background(), "keys", strings.Repeat("x", maxPayload+1))
	if err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("err = %v", err)
	}
}

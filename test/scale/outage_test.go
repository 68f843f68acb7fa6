package scale_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"
)

// requestBound is the longest any request may take while the database is
// down: it must fail fast, not wait for a timeout.
const requestBound = 5 * time.Second

// TestPostgresOutageUnderLoad stops Postgres under load and starts it
// again: while it is down every answer is a fast 503
// temporarily_unavailable, no token is handed out that was not stored, and
// the server recovers by itself.
func TestPostgresOutageUnderLoad(t *testing.T) {
	pg := newPrivatePG(t)
	ln := listen(t)
	logger, panics := newPanicCounter()
	in := startWith(t, baseConfig(pg.URL(), "http://"+ln.Addr().String()), ln, logger)
	c := newClient(t, in.srv.App, "jwt", "read")
	rs := newClient(t, in.srv.App, "opaque", "sesame:introspect")

	hc := &http.Client{Timeout: 2 * requestBound}
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	wg := drive(ctx, hc, in.url, c, 4, rec.add)
	defer func() { cancel(); wg.Wait() }()

	time.Sleep(time.Second)
	if _, ok := rec.firstOKAfter(time.Time{}); !ok {
		t.Fatalf("no token issued before the outage: %+v", rec.snapshot())
	}
	stopAt := time.Now()
	pg.Stop()
	downAt := time.Now()
	time.Sleep(2 * time.Second)
	if st := status(t, hc, in.url+"/readyz"); st != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database down: %d, want 503", st)
	}
	upAt := time.Now()
	pg.Start()
	startedAt := time.Now()

	took, ok := within(15*time.Second, func() bool { _, ok := rec.firstOKAfter(startedAt); return ok })
	if !ok {
		t.Fatalf("no token issued within %s of Postgres coming back", took)
	}
	if took > 5*time.Second {
		t.Errorf("recovery took %s, want a few seconds", took)
	}
	t.Logf("database stopped in %s, down for %s; first token %s after restart", downAt.Sub(stopAt), startedAt.Sub(downAt), took)
	time.Sleep(500 * time.Millisecond)
	cancel()
	wg.Wait()
	if st := status(t, hc, in.url+"/readyz"); st != http.StatusOK {
		t.Errorf("/readyz after recovery: %d", st)
	}

	all := rec.snapshot()
	var down, unavailable, transport int
	var issued []string
	for _, r := range all {
		if r.dur > requestBound {
			t.Errorf("request sent at +%s took %s (status %d, err %v)", r.at.Sub(stopAt), r.dur, r.status, r.err)
		}
		switch {
		case r.err != nil:
			// A connection cut while the server shut a pooled connection
			// is acceptable only as a fast failure, never as a hang.
			transport++
		case r.status == http.StatusOK:
			issued = append(issued, r.token)
		case r.status == http.StatusServiceUnavailable && r.code == "temporarily_unavailable":
			unavailable++
		default:
			t.Errorf("request sent at +%s: status %d error %q; want 200 or 503 temporarily_unavailable", r.at.Sub(stopAt), r.status, r.code)
		}
		if !r.at.Before(downAt) && r.at.Before(upAt) {
			down++
		}
	}
	if n := panics(); n > 0 {
		t.Errorf("the server logged %d panics", n)
	}
	if unavailable == 0 {
		t.Error("no 503 temporarily_unavailable during the outage")
	}
	if transport > 0 {
		t.Errorf("%d requests failed without an HTTP answer", transport)
	}
	t.Logf("%d requests: %d tokens, %d × 503 (%d sent while down)", len(all), len(issued), unavailable, down)

	// Every token handed out, including those issued as the database went
	// away or came back, must be stored: introspection finds it active.
	var mu sync.Mutex
	var lost int
	var iwg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, tok := range issued {
		iwg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if !active(t, in.url, rs, tok) {
				mu.Lock()
				lost++
				mu.Unlock()
			}
		})
	}
	iwg.Wait()
	if lost > 0 {
		t.Errorf("%d of %d issued tokens are not active after recovery (handed out but not stored)", lost, len(issued))
	}
}

func status(t *testing.T, hc *http.Client, u string) int {
	t.Helper()
	resp, err := hc.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

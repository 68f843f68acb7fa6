package scale_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
)

// soakDuration is SESAME_SOAK_DURATION, else 60s in CI and 10s elsewhere.
func soakDuration(t *testing.T) time.Duration {
	if v := os.Getenv("SESAME_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 5*time.Second {
			t.Fatalf("SESAME_SOAK_DURATION %q: want a duration of at least 5s", v)
		}
		return d
	}
	if os.Getenv("CI") != "" {
		return 60 * time.Second
	}
	return 10 * time.Second
}

// sample is the process's state at one moment.
type sample struct {
	goroutines int
	heap       uint64
}

func take() sample {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return sample{goroutines: runtime.NumGoroutine(), heap: m.HeapAlloc}
}

// rowCounter counts the rows of the tables the janitor keeps bounded.
func rowCounter(t *testing.T, st storage.Store) func() (tokens, grants int) {
	q := func(ctx context.Context, table string) int {
		var n int
		var err error
		switch s := st.(type) {
		case interface{ Pool() *pgxpool.Pool }:
			err = s.Pool().QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n)
		case interface{ DB() *sql.DB }:
			err = s.DB().QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n)
		default:
			err = fmt.Errorf("store %T: cannot count rows", st)
		}
		if err != nil {
			t.Errorf("count %s: %v", table, err)
		}
		return n
	}
	return func() (int, int) {
		ctx := context.Background()
		return q(ctx, "tokens"), q(ctx, "grants")
	}
}

// TestSoak runs a steady mixed load (token, introspection, JWKS, metrics)
// against an in-process server for SESAME_SOAK_DURATION with short-lived
// tokens and a fast janitor, and checks that goroutines, heap and the
// token tables stay flat.
func TestSoak(t *testing.T) {
	d := soakDuration(t)
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "soak.db")
	if os.Getenv(pgtest.EnvURL) != "" || os.Getenv("CI") != "" {
		dbURL = pgtest.URL(t)
	}
	ln := listen(t)
	cfg := baseConfig(dbURL, "http://"+ln.Addr().String())
	// Tokens expire within seconds and the janitor sweeps every second,
	// so the tables reach their steady size early in the run.
	cfg.AccessTokenLifetime = 2 * time.Second
	cfg.JanitorInterval = time.Second
	cfg.JanitorGrace = 0
	in := start(t, cfg, ln)
	// client_credentials JWTs leave no row and opaque ones a token row
	// (no grant row for either): load both, so the janitor has rows to keep
	// bounded and the JWT path is soaked too.
	clients := []client{newClient(t, in.srv.App, "jwt", "read"), newClient(t, in.srv.App, "opaque", "read")}
	rs := newClient(t, in.srv.App, "opaque", "sesame:introspect")
	rows := rowCounter(t, in.srv.Store)

	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: tr}
	idle := take()
	ctx, cancel := context.WithCancel(context.Background())
	var issued, failed atomic.Int64
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			c := clients[w%2]
			for i := 0; ctx.Err() == nil; i++ {
				st, body, err := postForm(hc, in.url, "/oauth2/token", c, url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}})
				if ctx.Err() != nil {
					return
				}
				if err != nil || st != http.StatusOK {
					failed.Add(1)
					continue
				}
				issued.Add(1)
				tok, _ := body["access_token"].(string)
				switch (i + w) % 4 {
				case 0:
					if st, _, err := postForm(hc, in.url, "/oauth2/introspect", rs, url.Values{"token": {tok}}); err != nil || st != http.StatusOK {
						failed.Add(1)
					}
				case 1:
					for _, p := range []string{"/.well-known/jwks.json", "/metrics"} {
						if resp, err := hc.Get(in.url + p); err != nil || resp.StatusCode != http.StatusOK {
							failed.Add(1)
						} else {
							resp.Body.Close()
						}
					}
				}
			}
		})
	}

	warm := max(d/5, 3*time.Second)
	time.Sleep(warm)
	base := take()
	baseTokens, baseGrants := rows()
	baseIssued := issued.Load()
	maxRows := baseTokens + baseGrants
	deadline := time.Now().Add(d - warm)
	var lastIssued int64
	lastAt := time.Now()
	var rate float64 // tokens/s over the last second
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		n, g := rows()
		maxRows = max(maxRows, n+g)
		now, cur := time.Now(), issued.Load()
		if lastIssued > 0 {
			rate = float64(cur-lastIssued) / now.Sub(lastAt).Seconds()
		}
		lastIssued, lastAt = cur, now
	}
	end := take()
	endTokens, endGrants := rows()
	endIssued := issued.Load()
	cancel()
	wg.Wait()
	tr.CloseIdleConnections()

	t.Logf("soak %s: %d tokens issued (%.0f/s), %d failed requests", d, endIssued, float64(endIssued)/d.Seconds(), failed.Load())
	t.Logf("goroutines idle %d, after warm-up %d, at end %d; heap after warm-up %.1f MiB, at end %.1f MiB",
		idle.goroutines, base.goroutines, end.goroutines, mib(base.heap), mib(end.heap))
	t.Logf("table growth: tokens rows %d → %d, grants rows %d → %d (max tokens+grants %d), while %d more tokens were issued",
		baseTokens, endTokens, baseGrants, endGrants, maxRows, endIssued-baseIssued)

	if failed.Load() > 0 {
		t.Errorf("%d requests failed under steady load", failed.Load())
	}
	if endIssued-baseIssued < 100 {
		t.Fatalf("only %d tokens issued after warm-up: the load did not run", endIssued-baseIssued)
	}
	if end.goroutines > base.goroutines+20 {
		t.Errorf("goroutines grew from %d to %d under steady load", base.goroutines, end.goroutines)
	}
	if end.heap > base.heap*3/2+16<<20 {
		t.Errorf("heap grew from %.1f MiB to %.1f MiB under steady load", mib(base.heap), mib(end.heap))
	}
	// Rows are bounded by rate × (lifetime + janitor interval), with
	// slack for scheduling, not by the number of tokens ever issued:
	// each token is at most one grant and one token row.
	bound := int(2*rate*(cfg.AccessTokenLifetime+cfg.JanitorInterval+2*time.Second).Seconds()) + 100
	if endRows := endTokens + endGrants; endRows > bound || int64(endRows) >= 2*(endIssued-baseIssued) {
		t.Errorf("%d token+grant rows at the end (bound %d at %.0f tokens/s) while %d tokens were issued: the janitor does not keep up",
			endRows, bound, rate, endIssued-baseIssued)
	}
	// Once the load stops, everything it started winds down.
	if took, ok := within(5*time.Second, func() bool { return take().goroutines <= idle.goroutines+5 }); !ok {
		t.Errorf("%d goroutines %s after the load stopped, %d before it started", take().goroutines, took, idle.goroutines)
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

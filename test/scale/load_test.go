package scale_test

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// result is one token request made by the load driver.
type result struct {
	at     time.Time // when it was sent
	dur    time.Duration
	status int // 0 on a transport error
	code   string
	token  string
	err    error
}

// drive runs workers goroutines that request client_credentials tokens
// from base until ctx ends, passing each result to record.
func drive(ctx context.Context, hc *http.Client, base string, c client, workers int, record func(result)) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				r := result{at: time.Now()}
				st, body, err := postForm(hc, base, "/oauth2/token", c, url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}})
				r.dur, r.status, r.err = time.Since(r.at), st, err
				if body != nil {
					r.code, _ = body["error"].(string)
					r.token, _ = body["access_token"].(string)
				}
				if ctx.Err() != nil && err != nil {
					return // cut short by the end of the run, not a failure
				}
				record(r)
				if err != nil {
					// Do not spin on a refused connection.
					time.Sleep(10 * time.Millisecond)
				}
			}
		})
	}
	return &wg
}

// recorder keeps results safe for concurrent use.
type recorder struct {
	mu  sync.Mutex
	all []result
}

func (r *recorder) add(x result) {
	r.mu.Lock()
	r.all = append(r.all, x)
	r.mu.Unlock()
}

func (r *recorder) snapshot() []result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]result(nil), r.all...)
}

// firstOKAfter is the first successful result sent after t.
func (r *recorder) firstOKAfter(t time.Time) (result, bool) {
	for _, x := range r.snapshot() {
		if x.status == http.StatusOK && x.at.After(t) {
			return x, true
		}
	}
	return result{}, false
}

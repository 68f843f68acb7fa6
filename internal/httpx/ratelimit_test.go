package httpx_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/httpx"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func limited(t *testing.T, cfg httpx.RateLimitConfig) (*gin.Engine, *httpx.RateLimiter, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg.Now = clk.Now
	l := httpx.NewRateLimiter(cfg)
	e := gin.New()
	e.Use(l.Middleware())
	e.GET("/x", ok)
	return e, l, clk
}

func TestRateLimitBurstThen429(t *testing.T) {
	e, _, clk := limited(t, httpx.RateLimitConfig{Rate: 0.5, Burst: 3})
	alice := req{path: "/x", remote: "198.51.100.1:1000"}
	for i := range 3 {
		if w := do(t, e, alice); w.Code != http.StatusOK {
			t.Fatalf("request %d within the burst: status %d", i+1, w.Code)
		}
	}
	w := do(t, e, alice)
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("request past the burst: status %d, want 429", w.Code)
	}
	if got := w.Header().Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After = %q, want 2 (one token at 0.5/s)", got)
	}
	var body httpx.ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error != "too_many_requests" || body.Description == "" {
		t.Errorf("429 body = %s (%v), want a too_many_requests JSON error", w.Body.String(), err)
	}

	if w := do(t, e, req{path: "/x", remote: "198.51.100.2:1000"}); w.Code != http.StatusOK {
		t.Errorf("another IP is limited too: status %d", w.Code)
	}
	if w := do(t, e, req{path: "/x", remote: "[2001:db8:0:1::5]:1000"}); w.Code != http.StatusOK {
		t.Errorf("an IPv6 client: status %d", w.Code)
	}

	clk.Advance(2 * time.Second)
	if w := do(t, e, alice); w.Code != http.StatusOK {
		t.Errorf("after Retry-After a request passes: status %d", w.Code)
	}
	if w := do(t, e, alice); w.Code != http.StatusTooManyRequests {
		t.Errorf("only one token refilled in 2 s, so a second request must wait: status %d", w.Code)
	}
}

func TestRateLimitIPv6SharesA64(t *testing.T) {
	e, _, _ := limited(t, httpx.RateLimitConfig{Rate: 1, Burst: 2})
	for i, addr := range []string{"[2001:db8:0:1::1]:1", "[2001:db8:0:1::2]:1"} {
		if w := do(t, e, req{path: "/x", remote: addr}); w.Code != http.StatusOK {
			t.Fatalf("request %d: status %d", i, w.Code)
		}
	}
	if w := do(t, e, req{path: "/x", remote: "[2001:db8:0:1::3]:1"}); w.Code != http.StatusTooManyRequests {
		t.Errorf("a third address of the same /64: status %d, want 429", w.Code)
	}
	if w := do(t, e, req{path: "/x", remote: "[2001:db8:0:2::1]:1"}); w.Code != http.StatusOK {
		t.Errorf("another /64: status %d, want 200", w.Code)
	}
}

func TestRateLimitHTML(t *testing.T) {
	e, _, _ := limited(t, httpx.RateLimitConfig{Rate: 1, Burst: 1, HTML: true})
	do(t, e, req{path: "/x", remote: "198.51.100.1:1"})
	w := do(t, e, req{path: "/x", remote: "198.51.100.1:1"})
	if w.Code != http.StatusTooManyRequests || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") ||
		!strings.Contains(w.Body.String(), "Too many requests") || w.Header().Get("Retry-After") == "" {
		t.Errorf("HTML 429: %d %q %q", w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}
}

func TestRateLimitDisabled(t *testing.T) {
	e, l, _ := limited(t, httpx.RateLimitConfig{Disabled: true, Rate: 1, Burst: 1})
	for i := range 10 {
		if w := do(t, e, req{path: "/x", remote: "198.51.100.1:1"}); w.Code != http.StatusOK {
			t.Fatalf("request %d with limits disabled: %d", i, w.Code)
		}
	}
	if l.Len() != 0 {
		t.Errorf("a disabled limiter keeps %d buckets", l.Len())
	}
}

func TestRateLimitMemoryIsBounded(t *testing.T) {
	t.Run("idle buckets are evicted", func(t *testing.T) {
		e, l, clk := limited(t, httpx.RateLimitConfig{Rate: 10, Burst: 10, IdleTTL: time.Minute})
		for i := range 50 {
			do(t, e, req{path: "/x", remote: fmt.Sprintf("198.51.100.%d:1", i)})
		}
		if l.Len() != 50 {
			t.Fatalf("Len = %d after 50 clients, want 50", l.Len())
		}
		clk.Advance(time.Minute)
		do(t, e, req{path: "/x", remote: "203.0.113.1:1"})
		if l.Len() != 1 {
			t.Errorf("Len = %d after the idle TTL, want 1 (only the new client)", l.Len())
		}
	})
	t.Run("the map never exceeds MaxClients", func(t *testing.T) {
		e, l, _ := limited(t, httpx.RateLimitConfig{Rate: 1, Burst: 1, MaxClients: 20})
		for i := range 1000 {
			do(t, e, req{path: "/x", remote: fmt.Sprintf("10.0.%d.%d:1", i/256, i%256)})
		}
		if l.Len() != 20 {
			t.Errorf("Len = %d after 1000 clients, want the cap 20", l.Len())
		}
	})
	t.Run("idle TTL is stretched to the refill time", func(t *testing.T) {
		// 1 token per 10 s, burst 6: refilling takes a minute, longer than
		// the 1 s TTL; evicting earlier would grant a fresh burst.
		e, _, clk := limited(t, httpx.RateLimitConfig{Rate: 0.1, Burst: 6, IdleTTL: time.Second})
		a := req{path: "/x", remote: "198.51.100.9:1"}
		for range 6 {
			do(t, e, a)
		}
		clk.Advance(30 * time.Second)
		passed := 0
		for range 6 {
			if do(t, e, a).Code == http.StatusOK {
				passed++
			}
		}
		if passed != 3 {
			t.Errorf("after 30 s, %d requests passed, want 3 (no fresh burst)", passed)
		}
	})
}

func TestRateLimitConcurrent(t *testing.T) {
	e, _, _ := limited(t, httpx.RateLimitConfig{Rate: 1, Burst: 25})
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for range 100 {
		wg.Go(func() {
			w := do(t, e, req{path: "/x", remote: "198.51.100.77:1"})
			mu.Lock()
			codes[w.Code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[http.StatusOK] != 25 || codes[http.StatusTooManyRequests] != 75 {
		t.Errorf("100 concurrent requests with burst 25 gave %v", codes)
	}
}

func TestRateLimitConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     httpx.RateLimitConfig
		wantErr bool
	}{
		{"API default", httpx.DefaultAPIRateLimit(), false},
		{"browser default", httpx.DefaultBrowserRateLimit(), false},
		{"register default", httpx.DefaultRegisterRateLimit(), false},
		{"disabled needs no numbers", httpx.RateLimitConfig{Disabled: true}, false},
		{"zero rate", httpx.RateLimitConfig{Burst: 5}, true},
		{"zero burst", httpx.RateLimitConfig{Rate: 5}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

// BenchmarkRateLimit measures the middleware's cost per request through a
// gin engine, spread over 5 000 client addresses.
func BenchmarkRateLimit(b *testing.B) {
	e := gin.New()
	e.Use(httpx.RateLimit(httpx.RateLimitConfig{Rate: 1e9, Burst: 1 << 30}))
	e.GET("/x", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	reqs := make([]*http.Request, 5000)
	for i := range reqs {
		reqs[i] = httptest.NewRequest(http.MethodGet, "/x", nil)
		reqs[i].RemoteAddr = fmt.Sprintf("10.%d.%d.1:1", i/256, i%256)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			e.ServeHTTP(httptest.NewRecorder(), reqs[i%len(reqs)])
			i++
		}
	})
}

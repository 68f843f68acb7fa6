package bench_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/bench"
	"github.com/sesameauth/sesame/internal/bench/benchtest"
)

func config(srv *benchtest.Server, flow string) bench.Config {
	return bench.Config{
		Issuer: srv.Issuer, Flow: flow, Concurrency: 4,
		ClientID: benchtest.ClientID, ClientSecret: benchtest.ClientSecret,
		Username: benchtest.Username, Password: benchtest.Password,
		RedirectURI: benchtest.RedirectURI, Timeout: 5 * time.Second,
	}
}

// Every flow completes without errors against a strict server, and the
// measured requests are exactly --requests: the endpoint a flow measures
// sees N hits plus only the documented set-up calls.
func TestEveryFlowCompletesWithExactRequestCount(t *testing.T) {
	const n = 40
	tests := []struct {
		flow     string
		endpoint string
		setup    int64 // unmeasured hits of endpoint during set-up
		tune     func(*bench.Config)
	}{
		{flow: bench.FlowClientCredentials, endpoint: benchtest.PathToken},
		{flow: bench.FlowClientCredentials + " with client_secret_post", endpoint: benchtest.PathToken,
			tune: func(c *bench.Config) { c.Flow, c.TokenAuth = bench.FlowClientCredentials, bench.TokenAuthPost }},
		{flow: bench.FlowPassword, endpoint: benchtest.PathToken},
		// One password grant per worker starts each worker's chain.
		{flow: bench.FlowRefresh, endpoint: benchtest.PathToken, setup: 4},
		// One token and one trial introspection.
		{flow: bench.FlowIntrospect, endpoint: benchtest.PathIntrospect, setup: 1},
		{flow: bench.FlowJWKS, endpoint: benchtest.PathJWKS},
		{flow: bench.FlowUserinfo, endpoint: benchtest.PathUserinfo, setup: 1},
		{flow: bench.FlowHealth, endpoint: benchtest.PathHealth},
		{flow: bench.FlowAuthorizationCode, endpoint: benchtest.PathToken},
		{flow: bench.FlowAuthorizationCode + " login", endpoint: benchtest.PathLogin,
			tune: func(c *bench.Config) { c.Flow = bench.FlowAuthorizationCode }},
		// Verification is in-process: the JWKS is fetched once, whatever n.
		{flow: bench.FlowVerify, endpoint: benchtest.PathJWKS, setup: 1 - n},
	}
	for _, tc := range tests {
		t.Run(tc.flow, func(t *testing.T) {
			srv := benchtest.New(t)
			cfg := config(srv, tc.flow)
			cfg.Requests = n
			if tc.tune != nil {
				tc.tune(&cfg)
			}
			rep, err := bench.Run(context.Background(), cfg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if rep.Errors != 0 || rep.Requests != n || rep.Stopped != bench.StoppedRequests {
				t.Fatalf("report: %d requests, %d errors %v, stopped %s; want %d, 0, requests",
					rep.Requests, rep.Errors, rep.ErrorsByKind, rep.Stopped, n)
			}
			want := n + tc.setup
			if tc.endpoint == benchtest.PathLogin {
				want = 2 * n // GET the form, POST it
			}
			if got := srv.Hits(tc.endpoint); got != want {
				t.Errorf("%s hits = %d, want %d", tc.endpoint, got, want)
			}
			if rep.Latency.P50 <= 0 || rep.Latency.Max < rep.Latency.P99 || rep.Latency.P99 < rep.Latency.P50 || rep.RPS <= 0 {
				t.Errorf("implausible figures: %+v rps %.1f", rep.Latency, rep.RPS)
			}
		})
	}
}

func TestAuthorizationCodePassesConsent(t *testing.T) {
	srv := benchtest.New(t)
	cfg := config(srv, bench.FlowAuthorizationCode)
	cfg.Requests = 10
	if _, err := bench.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	// GET + POST of the consent page each iteration, and the fake's code
	// check (PKCE, redirect_uri) passed since there were no errors above.
	if got := srv.Hits(benchtest.PathConsent); got != 20 {
		t.Errorf("consent hits = %d, want 20", got)
	}
}

func TestDurationIsHonoured(t *testing.T) {
	srv := benchtest.New(t)
	srv.SlowHealth(20 * time.Millisecond)
	cfg := config(srv, bench.FlowHealth)
	cfg.Duration = 1500 * time.Millisecond
	start := time.Now()
	rep, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	wall := time.Since(start)
	if wall < 1500*time.Millisecond || wall > 6*time.Second { // upper bound generous for loaded CI
		t.Errorf("run took %v, want 1.5 s (at most 6 s on a loaded machine)", wall)
	}
	if rep.Stopped != bench.StoppedDuration || rep.DurationS < 1.4 || rep.DurationS > 2 {
		t.Errorf("stopped %s after %.3f s, want duration after ~1.5 s", rep.Stopped, rep.DurationS)
	}
	// At most 4 workers × 1.5 s / 20 ms = 300 (fewer on a busy machine);
	// requests cut off at the end are dropped, not reported as errors.
	if rep.Errors != 0 || rep.Requests < 20 || rep.Requests > 300 {
		t.Errorf("%d requests, %d errors %v", rep.Requests, rep.Errors, rep.ErrorsByKind)
	}
	if rep.Latency.P50 < 20 {
		t.Errorf("p50 %.3f ms is below the server's 20 ms delay", rep.Latency.P50)
	}
}

func TestMaxDurationCapsEverything(t *testing.T) {
	srv := benchtest.New(t)
	cfg := config(srv, bench.FlowHealth)
	cfg.Requests = 1 << 40
	cfg.Warmup = 300 * time.Millisecond
	cfg.MaxDuration = time.Second
	start := time.Now()
	rep, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Without the cap the run would never end (2^40 requests); the bound
	// is generous because a loaded CI machine with -race can stall the
	// scheduler for seconds, and this is a test of capping, not of speed.
	if wall := time.Since(start); wall > 6*time.Second {
		t.Errorf("run took %v past a 1 s cap", wall)
	}
	if rep.Stopped != bench.StoppedMaxDuration || rep.Requests == 0 {
		t.Errorf("stopped %s with %d requests, want max_duration and some requests", rep.Stopped, rep.Requests)
	}
}

func TestWarmupIsNotCounted(t *testing.T) {
	srv := benchtest.New(t)
	srv.SlowHealth(5 * time.Millisecond)
	cfg := config(srv, bench.FlowHealth)
	cfg.Requests = 20
	cfg.Warmup = 200 * time.Millisecond
	rep, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Each of the 4 workers starts at least one request inside the 200 ms
	// warm-up; those are sent but not reported.
	if rep.Requests != 20 || srv.Hits(benchtest.PathHealth) < 24 {
		t.Errorf("reported %d requests for %d hits; want 20 measured after a warm-up", rep.Requests, srv.Hits(benchtest.PathHealth))
	}
}

func TestErrorsAreGroupedByKind(t *testing.T) {
	srv := benchtest.New(t)
	srv.FailTokens(func(n int64) (int, string) {
		switch n % 3 {
		case 0:
			return http.StatusBadRequest, "invalid_client"
		case 1:
			return http.StatusInternalServerError, ""
		}
		return 0, ""
	})
	cfg := config(srv, bench.FlowClientCredentials)
	cfg.Requests = 30
	rep, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"400 invalid_client": 10, "500": 10}
	if rep.Requests != 30 || rep.Errors != 20 || len(rep.ErrorsByKind) != len(want) {
		t.Fatalf("%d requests, %d errors, by kind %v; want 30, 20, %v", rep.Requests, rep.Errors, rep.ErrorsByKind, want)
	}
	for k, v := range want {
		if rep.ErrorsByKind[k] != v {
			t.Errorf("errors[%q] = %d, want %d", k, rep.ErrorsByKind[k], v)
		}
	}
}

func TestTransportErrorsAndTimeouts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/healthz"
	ln.Close()

	srv := benchtest.New(t)
	srv.SlowHealth(time.Second)
	tests := []struct {
		name, url, kind string
	}{
		{"nothing listening", closed, "transport: connection refused"},
		{"server slower than --timeout", srv.Issuer + benchtest.PathHealth, "timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := bench.Config{Flow: bench.FlowHealth, HealthURL: tc.url, Concurrency: 2, Requests: 4, Timeout: 100 * time.Millisecond}
			rep, err := bench.Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Errors != 4 || rep.ErrorsByKind[tc.kind] != 4 {
				t.Errorf("errors %d by kind %v, want 4 × %q", rep.Errors, rep.ErrorsByKind, tc.kind)
			}
		})
	}
}

func TestRefreshChainsBreakAndRestart(t *testing.T) {
	srv := benchtest.New(t)
	// The 10th token request onwards fails once: a worker's chain breaks
	// and must restart with a password grant rather than fail for ever.
	srv.FailTokens(func(n int64) (int, string) {
		if n == 10 {
			return http.StatusBadRequest, "invalid_grant"
		}
		return 0, ""
	})
	cfg := config(srv, bench.FlowRefresh)
	cfg.Concurrency = 1
	cfg.Requests = 20
	rep, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Errors != 1 || rep.ErrorsByKind["400 invalid_grant"] != 1 || rep.Requests != 20 {
		t.Errorf("%d requests, errors %v; want 20 with one invalid_grant", rep.Requests, rep.ErrorsByKind)
	}
}

func TestSetupFailuresStopTheRun(t *testing.T) {
	srv := benchtest.New(t)
	tests := []struct {
		name string
		cfg  func() bench.Config
		want string
	}{
		{"wrong user password at set-up", func() bench.Config {
			c := config(srv, bench.FlowRefresh)
			c.Password = "wrong"
			return c
		}, "400 invalid_grant"},
		{"issuer without discovery", func() bench.Config {
			c := config(srv, bench.FlowJWKS)
			c.Issuer = srv.Issuer + "/nowhere"
			return c
		}, "discovery failed"},
		{"unknown flow", func() bench.Config { return config(srv, "implicit") }, "--flow"},
		{"authorization_code without redirect", func() bench.Config {
			c := config(srv, bench.FlowAuthorizationCode)
			c.RedirectURI = ""
			return c
		}, "--redirect-uri"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bench.Run(context.Background(), tc.cfg())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run error = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestWrongLoginPasswordIsAFlowError(t *testing.T) {
	srv := benchtest.New(t)
	cfg := config(srv, bench.FlowAuthorizationCode)
	cfg.Password = "wrong"
	cfg.Requests = 3
	rep, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ErrorsByKind["flow: login rejected (login form shown again)"] != 3 {
		t.Errorf("errors by kind = %v", rep.ErrorsByKind)
	}
}

func TestInterruptReturnsPartialReport(t *testing.T) {
	srv := benchtest.New(t)
	srv.SlowHealth(10 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(400*time.Millisecond, cancel)
	cfg := config(srv, bench.FlowHealth)
	cfg.Duration = time.Minute
	start := time.Now()
	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 6*time.Second || rep.Stopped != bench.StoppedInterrupted || rep.Requests == 0 || rep.Errors != 0 {
		t.Errorf("after %v: stopped %s, %d requests, %d errors", time.Since(start), rep.Stopped, rep.Requests, rep.Errors)
	}
}

func TestCompareHealthReportsRatio(t *testing.T) {
	srv := benchtest.New(t)
	cfg := config(srv, bench.FlowJWKS)
	cfg.Requests = 20
	cfg.CompareHealth = true
	rep, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	b := rep.HealthBaseline
	if b == nil || b.Flow != bench.FlowHealth || b.Requests != 20 || srv.Hits(benchtest.PathHealth) != 20 {
		t.Fatalf("baseline = %+v", b)
	}
	if rep.RatioToHealth <= 0 {
		t.Errorf("ratio = %v", rep.RatioToHealth)
	}
}

func TestValidateWrapsErrConfig(t *testing.T) {
	cfg := bench.Config{Flow: bench.FlowClientCredentials, Issuer: "http://x", ClientID: "c"}
	if err := cfg.Validate(); !errors.Is(err, bench.ErrConfig) || !strings.Contains(err.Error(), "--client-secret") {
		t.Errorf("Validate = %v", err)
	}
}

func TestKeepSessionSkipsLoginAfterTheFirst(t *testing.T) {
	srv := benchtest.New(t)
	cfg := config(srv, bench.FlowAuthorizationCode)
	cfg.Concurrency = 2
	cfg.Requests = 10
	cfg.KeepSession = true
	rep, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Each worker logs in once (GET + POST); later iterations ride the
	// session.
	if rep.Errors != 0 || srv.Hits(benchtest.PathLogin) != 4 {
		t.Errorf("errors %v, login hits %d; want none and 4", rep.ErrorsByKind, srv.Hits(benchtest.PathLogin))
	}
}

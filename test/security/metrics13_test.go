package security

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/internal/config"
)

// TestMetricsLabelsBounded (issue 13 item 1): every request method was a
// Prometheus label value, so invented methods (any token, any length)
// each added a series that never went away — 30,000 requests with 4 KB
// methods to /healthz added 150 MiB. Now methods outside the standard set
// are refused with 501 before routing, counted under method="other",
// unknown paths count under route="unmatched", and neither the invented
// method nor the path reaches /metrics or the log verbatim.
func TestMetricsLabelsBounded(t *testing.T) {
	backends(t, nil, func(t *testing.T, s *srv) {
		metricsBody := func() string {
			r := s.get("/metrics")
			if r.status != http.StatusOK {
				t.Fatalf("/metrics: %d", r.status)
			}
			return string(r.body)
		}
		s.get("/healthz")
		s.get("/no-such-route")
		before := metricsBody()
		const n = 200
		pad := strings.Repeat("A", 4000)
		for i := range n {
			m := fmt.Sprintf("XMETH%04d%s", i, pad)
			req, _ := http.NewRequest(m, s.issuer+"/healthz", nil)
			if r := s.do(req); r.status != http.StatusNotImplemented {
				t.Fatalf("invented method answered %d, want 501", r.status)
			}
			if r := s.get(fmt.Sprintf("/probe-%04d-%s", i, pad)); r.status != http.StatusNotFound {
				t.Fatalf("unknown path answered %d, want 404", r.status)
			}
		}
		after := metricsBody()
		if strings.Contains(after, "XMETH") || strings.Contains(after, "probe-") {
			t.Fatal("an invented method or path became a metrics label")
		}
		if grown := len(after) - len(before); grown > 4096 {
			t.Fatalf("/metrics grew by %d bytes after %d probes, want a bounded handful of series", grown, 2*n)
		}
		if !strings.Contains(after, `method="other"`) || !strings.Contains(after, `route="unmatched"`) {
			t.Fatal(`refused methods are not counted as method="other" / unknown routes as route="unmatched"`)
		}
		logs := s.logs.String()
		if strings.Contains(logs, pad[:300]) {
			t.Fatal("a 4 KB method or path was logged verbatim")
		}
	})
}

// TestMetricsListen (issue 13 item 1): SESAME_METRICS_LISTEN serves
// /metrics on its own listener and takes it off the public one.
func TestMetricsListen(t *testing.T) {
	backends(t, func(c *config.Config) { c.MetricsListen = "127.0.0.1:0" }, func(t *testing.T, s *srv) {
		if r := s.get("/metrics"); r.status != http.StatusNotFound {
			t.Fatalf("/metrics on the public listener: %d, want 404", r.status)
		}
		addr := s.s.MetricsAddr()
		if addr == "" {
			t.Fatal("no metrics listener")
		}
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
		r := s.do(req)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), "sesame_http_requests_total") {
			t.Fatalf("/metrics on %s: %d", addr, r.status)
		}
	})
}

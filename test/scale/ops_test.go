package scale_test

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

func scrapeMetrics(t *testing.T, base string) (int, string) {
	t.Helper()
	resp, err := httpClient.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMetricsEndpoint checks /metrics on a whole server: requests by route
// template, tokens by grant and format, store pool statistics; and that
// SESAME_METRICS=false removes it.
func TestMetricsEndpoint(t *testing.T) {
	t.Run("on", func(t *testing.T) {
		ln := listen(t)
		in := start(t, baseConfig("sqlite:"+filepath.Join(t.TempDir(), "m.db"), "http://"+ln.Addr().String()), ln)
		c := newClient(t, in.srv.App, "opaque", "read")
		issue(t, in.url, c, "read")
		issue(t, in.url, c, "read")
		resp, err := httpClient.Get(in.url + "/no/such/page")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		st, out := scrapeMetrics(t, in.url)
		if st != http.StatusOK {
			t.Fatalf("/metrics: %d", st)
		}
		for _, want := range []string{
			`sesame_tokens_issued_total{format="opaque",grant_type="client_credentials"} 2`,
			`sesame_http_requests_total{method="POST",route="/oauth2/token",status="200"} 2`,
			`sesame_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
			`sesame_http_request_duration_seconds_bucket{method="POST",route="/oauth2/token",le="+Inf"} 2`,
			`go_sql_open_connections{db_name="sqlite"}`,
			`go_goroutines `,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		if strings.Contains(out, `route="/no/such/page"`) {
			t.Error("a raw path became a route label")
		}
	})
	t.Run("off", func(t *testing.T) {
		ln := listen(t)
		cfg := baseConfig("sqlite:"+filepath.Join(t.TempDir(), "m.db"), "http://"+ln.Addr().String())
		cfg.Metrics = false
		in := start(t, cfg, ln)
		if st, _ := scrapeMetrics(t, in.url); st != http.StatusNotFound {
			t.Errorf("/metrics with SESAME_METRICS=false: %d, want 404", st)
		}
	})
}

package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/metrics"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
	"github.com/sesameauth/sesame/storage/sqlite"
)

func engine(m *metrics.Metrics) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.Use(m.Middleware())
	e.GET("/oauth2/register/:client_id", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	e.POST("/oauth2/token", func(c *gin.Context) {
		_ = c.Request.ParseForm()
		switch c.Request.PostForm.Get("client_id") {
		case "opaque":
			c.Data(200, "application/json", []byte(`{"access_token":"sesame_at_abc","token_type":"bearer"}`))
		case "jwt":
			c.Data(200, "application/json", []byte(`{"access_token":"eyJ.eyJ.sig","token_type":"bearer"}`))
		default:
			c.Data(401, "application/json", []byte(`{"error":"invalid_client"}`))
		}
	})
	e.GET("/metrics", gin.WrapH(m.Handler()))
	return e
}

func do(t *testing.T, h http.Handler, method, target string, form url.Values) int {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func TestRequestsAreLabelledByRouteTemplate(t *testing.T) {
	m := metrics.New()
	e := engine(m)
	for _, id := range []string{"a", "b", "c"} {
		do(t, e, "GET", "/oauth2/register/"+id, nil)
	}
	do(t, e, "GET", "/no/such/"+"path", nil)
	do(t, e, "GET", "/another/random/path", nil)
	out := scrape(t, e)
	for _, want := range []string{
		`sesame_http_requests_total{method="GET",route="/oauth2/register/:client_id",status="204"} 3`,
		`sesame_http_requests_total{method="GET",route="unmatched",status="404"} 2`,
		`sesame_http_request_duration_seconds_count{method="GET",route="/oauth2/register/:client_id"} 3`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s", want)
		}
	}
	for _, raw := range []string{"/oauth2/register/a", "/no/such/path"} {
		if strings.Contains(out, `route="`+raw+`"`) {
			t.Errorf("raw path %s became a label", raw)
		}
	}
}

func TestTokensIssuedByGrantAndFormat(t *testing.T) {
	m := metrics.New()
	e := engine(m)
	for _, tc := range []struct {
		grant, client string
		status        int
	}{
		{"client_credentials", "opaque", 200},
		{"client_credentials", "jwt", 200},
		{"client_credentials", "jwt", 200},
		{"refresh_token", "jwt", 200},
		{"password", "bad", 401},
		{"made_up_grant_" + "x", "jwt", 200}, // capped to "other"
	} {
		if got := do(t, e, "POST", "/oauth2/token", url.Values{"grant_type": {tc.grant}, "client_id": {tc.client}}); got != tc.status {
			t.Fatalf("status %d, want %d", got, tc.status)
		}
	}
	out := scrape(t, e)
	for _, want := range []string{
		`sesame_tokens_issued_total{format="opaque",grant_type="client_credentials"} 1`,
		`sesame_tokens_issued_total{format="jwt",grant_type="client_credentials"} 2`,
		`sesame_tokens_issued_total{format="jwt",grant_type="refresh_token"} 1`,
		`sesame_tokens_issued_total{format="jwt",grant_type="other"} 1`,
		`sesame_token_requests_failed_total{grant_type="password",status="401"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s", want)
		}
	}
}

func TestPoolStats(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		s := pgtest.Open(t)
		m := metrics.New()
		m.RegisterPgxPool(s.Pool())
		if err := s.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
		out := scrape(t, m.Handler())
		for _, want := range []string{"sesame_db_pool_max_conns ", "sesame_db_pool_acquires_total ", "sesame_db_pool_idle_conns "} {
			if !strings.Contains(out, want) {
				t.Errorf("missing %s", want)
			}
		}
	})
	t.Run("sqlite", func(t *testing.T) {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "m.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		m := metrics.New()
		m.RegisterDBStats(s.DB(), "sqlite")
		if out := scrape(t, m.Handler()); !strings.Contains(out, `go_sql_open_connections{db_name="sqlite"}`) {
			t.Error("missing go_sql_open_connections")
		}
	})
}

// fakeThrottle is a ThrottleStore that always succeeds.
type fakeThrottle struct{ metricsThrottle }

func TestThrottleStoreCountsFailuresAndLocks(t *testing.T) {
	m := metrics.New()
	ts := m.ThrottleStore(fakeThrottle{})
	ctx := context.Background()
	now := time.Now()
	for _, k := range []string{"user:alice", "ip:10.0.0.1", "user:bob", "weird"} {
		if _, err := ts.RecordFailure(ctx, k, now, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := ts.SetLock(ctx, "client:c1", now); err != nil {
		t.Fatal(err)
	}
	out := scrape(t, engine(m))
	for _, want := range []string{
		`sesame_auth_failures_total{kind="user"} 2`,
		`sesame_auth_failures_total{kind="ip"} 1`,
		`sesame_auth_failures_total{kind="other"} 1`,
		`sesame_auth_locks_total{kind="client"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s", want)
		}
	}
}

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

func TestMailMetrics(t *testing.T) {
	m := metrics.New()
	queued, fail := 3, false
	m.RegisterMailQueue(func(context.Context) (int, error) {
		if fail {
			return 0, context.DeadlineExceeded
		}
		return queued, nil
	})
	out := scrape(t, m.Handler())
	for _, want := range []string{`sesame_mail_deliveries_total{result="sent"} 0`, `sesame_mail_deliveries_total{result="failed"} 0`, "sesame_mail_queued 3"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("missing %q", want)
		}
	}
	m.MailResult(true)
	m.MailResult(false)
	m.MailResult(false)
	queued = 1
	out = scrape(t, m.Handler())
	for _, want := range []string{`sesame_mail_deliveries_total{result="sent"} 1`, `sesame_mail_deliveries_total{result="failed"} 2`, "sesame_mail_queued 1"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("missing %q", want)
		}
	}
	fail = true
	if out := scrape(t, m.Handler()); strings.Contains(out, "sesame_mail_queued ") {
		t.Error("a failed count was exported")
	}
}

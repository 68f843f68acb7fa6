package metrics

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "sesame"

// Metrics holds every collector and the registry they are on.
type Metrics struct {
	Registry *prometheus.Registry

	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	inFlight      prometheus.Gauge
	tokens        *prometheus.CounterVec
	tokenFailures *prometheus.CounterVec
	authFailures  *prometheus.CounterVec
	locks         *prometheus.CounterVec
	refused       *prometheus.CounterVec
	janitor       *prometheus.CounterVec
	mail          *prometheus.CounterVec
}

// New builds the collectors on a fresh registry, with the Go runtime and
// process collectors.
func New() *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "http_requests_total",
		Help: "HTTP requests by route template, method and status code.",
	}, []string{"route", "method", "status"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "http_request_duration_seconds",
		Help: "HTTP request latency by route template and method.",
		// From a cached JWKS hit (~0.1 ms) to an argon2 login (~100 ms) and
		// a database stall.
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "method"})
	m.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "http_requests_in_flight", Help: "HTTP requests being served.",
	})
	m.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "tokens_issued_total",
		Help: "Successful token endpoint responses by grant type and access token format (jwt, opaque).",
	}, []string{"grant_type", "format"})
	m.tokenFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "token_requests_failed_total",
		Help: "Failed token endpoint requests by grant type and status code.",
	}, []string{"grant_type", "status"})
	m.authFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "auth_failures_total",
		Help: "Failed authentications recorded by the brute-force guard, by counter kind (user, client, ip).",
	}, []string{"kind"})
	m.locks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "auth_locks_total",
		Help: "Locks set by the brute-force guard, by counter kind (user, client, ip).",
	}, []string{"kind"})
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "auth_refused_locked_total",
		Help: "Sign-in attempts refused because of a brute-force lock, by counter kind (user, client, ip); they write no audit event.",
	}, []string{"kind"})
	m.janitor = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "janitor_deleted_rows_total",
		Help: "Rows deleted by the janitor, by table.",
	}, []string{"table"})
	m.mail = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "mail_deliveries_total",
		Help: "Outgoing-mail delivery attempts of this instance's worker, by result (sent, failed).",
	}, []string{"result"})
	m.mail.WithLabelValues("sent")
	m.mail.WithLabelValues("failed")
	m.Registry.MustRegister(m.requests, m.duration, m.inFlight, m.tokens, m.tokenFailures, m.authFailures, m.locks, m.refused, m.janitor, m.mail,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// RegisterPgxPool exports the pool's statistics.
func (m *Metrics) RegisterPgxPool(pool *pgxpool.Pool) {
	m.Registry.MustRegister(newPgxCollector(pool))
}

// RegisterDBStats exports a database/sql pool's statistics (SQLite).
func (m *Metrics) RegisterDBStats(db *sql.DB, name string) {
	m.Registry.MustRegister(collectors.NewDBStatsCollector(db, name))
}

// AuthRefused is a throttle.Guard OnRefused hook.
func (m *Metrics) AuthRefused(kind string) {
	m.refused.WithLabelValues(keyKind(kind + ":")).Inc()
}

// JanitorDeleted is a janitor.Options.OnDeleted hook.
func (m *Metrics) JanitorDeleted(table string, n int) {
	m.janitor.WithLabelValues(table).Add(float64(n))
}

// MailResult is a mail.WorkerOptions.OnResult hook.
func (m *Metrics) MailResult(sent bool) {
	if sent {
		m.mail.WithLabelValues("sent").Inc()
	} else {
		m.mail.WithLabelValues("failed").Inc()
	}
}

// RegisterMailQueue exports the number of unsent messages in the store's
// queue (shared by every instance) as sesame_mail_queued, read at each
// scrape with a short timeout; a failed count is left out of the scrape.
func (m *Metrics) RegisterMailQueue(count func(ctx context.Context) (int, error)) {
	m.Registry.MustRegister(&mailQueueCollector{count: count, desc: prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "", "mail_queued"), "Messages in the outgoing-mail queue not sent yet.", nil, nil)})
}

type mailQueueCollector struct {
	count func(ctx context.Context) (int, error)
	desc  *prometheus.Desc
}

func (c *mailQueueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *mailQueueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, err := c.count(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n))
}

// grantTypes are the grant_type label values; anything else is "other",
// so a client cannot create series at will.
var grantTypes = map[string]bool{"authorization_code": true, "refresh_token": true, "client_credentials": true, "password": true,
	"urn:ietf:params:oauth:grant-type:device_code": true, "urn:ietf:params:oauth:grant-type:token-exchange": true}

func grantLabel(gt string) string {
	if grantTypes[gt] {
		return gt
	}
	return "other"
}

// Middleware records every request. Mount it on the engine before any
// route; the token route is also inspected for tokens issued.
func (m *Metrics) Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		var tw *tokenWriter
		if c.Request.Method == http.MethodPost && c.Request.URL.Path == tokenPath {
			tw = &tokenWriter{ResponseWriter: c.Writer}
			c.Writer = tw
		}
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = UnmatchedRoute
		}
		method, _ := MethodLabel(c.Request.Method)
		status := c.Writer.Status()
		m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
		m.duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
		if tw != nil {
			// PostForm was parsed by the token handler; it is empty if
			// the request never got that far.
			gt := grantLabel(c.Request.PostForm.Get("grant_type"))
			if status == http.StatusOK {
				m.tokens.WithLabelValues(gt, tw.format()).Inc()
			} else {
				m.tokenFailures.WithLabelValues(gt, strconv.Itoa(status)).Inc()
			}
		}
	}
}

// tokenPath is oauth.PathToken (not imported: metrics sits below oauth).
const tokenPath = "/oauth2/token"

// opaquePrefix is the prefix of Sesame's opaque access tokens.
const opaquePrefix = `"access_token":"sesame_at_`

// tokenWriter keeps the first bytes of the token response to tell the
// access token's format; the body is a small JSON object written at once.
type tokenWriter struct {
	gin.ResponseWriter
	head []byte
}

func (w *tokenWriter) Write(b []byte) (int, error) {
	if room := 4096 - len(w.head); room > 0 {
		w.head = append(w.head, b[:min(room, len(b))]...)
	}
	return w.ResponseWriter.Write(b)
}

func (w *tokenWriter) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

func (w *tokenWriter) format() string {
	if strings.Contains(string(w.head), opaquePrefix) {
		return "opaque"
	}
	return "jwt"
}

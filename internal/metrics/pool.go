package metrics

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// pgxCollector exports pgxpool.Stat at scrape time.
type pgxCollector struct {
	pool *pgxpool.Pool

	acquired, idle, total, max, constructing *prometheus.Desc
	acquires, emptyAcquires, canceled        *prometheus.Desc
	waitSeconds                              *prometheus.Desc
}

func newPgxCollector(pool *pgxpool.Pool) *pgxCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "db_pool", name), help, nil, nil)
	}
	return &pgxCollector{
		pool:          pool,
		acquired:      d("acquired_conns", "Connections in use."),
		idle:          d("idle_conns", "Idle connections."),
		total:         d("total_conns", "Open connections."),
		max:           d("max_conns", "Maximum pool size."),
		constructing:  d("constructing_conns", "Connections being opened."),
		acquires:      d("acquires_total", "Successful connection acquisitions."),
		emptyAcquires: d("empty_acquires_total", "Acquisitions that had to wait because the pool was empty."),
		canceled:      d("canceled_acquires_total", "Acquisitions canceled by their context."),
		waitSeconds:   d("acquire_wait_seconds_total", "Total time spent waiting for a connection."),
	}
}

func (c *pgxCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.acquired, c.idle, c.total, c.max, c.constructing, c.acquires, c.emptyAcquires, c.canceled, c.waitSeconds} {
		ch <- d
	}
}

func (c *pgxCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	g := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	n := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	g(c.acquired, float64(s.AcquiredConns()))
	g(c.idle, float64(s.IdleConns()))
	g(c.total, float64(s.TotalConns()))
	g(c.max, float64(s.MaxConns()))
	g(c.constructing, float64(s.ConstructingConns()))
	n(c.acquires, float64(s.AcquireCount()))
	n(c.emptyAcquires, float64(s.EmptyAcquireCount()))
	n(c.canceled, float64(s.CanceledAcquireCount()))
	n(c.waitSeconds, s.AcquireDuration().Seconds())
}

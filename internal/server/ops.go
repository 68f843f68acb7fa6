package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sesameauth/sesame/internal/janitor"
	"github.com/sesameauth/sesame/internal/metrics"
	"github.com/sesameauth/sesame/internal/notify"
	"github.com/sesameauth/sesame/storage"
)

// ops is the operational side of a running server: Prometheus metrics,
// the event bus that keeps the caches of several instances in step, and
// the janitor that keeps the store bounded.
type ops struct {
	metrics *metrics.Metrics // nil when SESAME_METRICS=false
	bus     notify.Bus
	janitor *janitor.Janitor // nil when SESAME_JANITOR_INTERVAL=0
}

// pooled is a store with a pgx pool (storage/postgres): Pool for
// transactions, SessionPool for LISTEN and session advisory locks (a
// direct connection when SESAME_DATABASE_LISTEN_URL is set).
type pooled interface {
	Pool() *pgxpool.Pool
	SessionPool() *pgxpool.Pool
}

// sqlDB is a store over database/sql (storage/sqlite).
type sqlDB interface{ DB() *sql.DB }

// buildOps builds metrics, the bus and the janitor over the opened store.
// It runs before the features so that they can be given what they count.
func (s *Server) buildOps() (*ops, error) {
	cfg := s.Config
	o := &ops{}
	if cfg.Metrics {
		o.metrics = metrics.New()
		o.metrics.RegisterMailQueue(s.Store.CountUnsentMail)
		switch st := s.Store.(type) {
		case pooled:
			o.metrics.RegisterPgxPool(st.Pool())
		case sqlDB:
			o.metrics.RegisterDBStats(st.DB(), "sqlite")
		}
	}

	// Postgres: every instance sharing the database hears every event and
	// only one sweeps at a time. SQLite is one process.
	var locker janitor.Locker = &janitor.LocalLocker{}
	if p, ok := s.Store.(pooled); ok {
		o.bus = notify.NewPostgres(p.SessionPool(), s.Logger)
		locker = janitor.PostgresLocker{Pool: p.SessionPool()}
	} else {
		o.bus = notify.NewLocal()
	}

	if cfg.JanitorInterval > 0 {
		opts := janitor.Options{
			Interval:       cfg.JanitorInterval,
			Batch:          cfg.JanitorBatch,
			Grace:          cfg.JanitorGrace,
			AuditRetention: cfg.AuditRetention,
			KeepAudit:      cfg.AuditRetention == 0,
			CounterWindow:  s.throttleConfig().CounterWindow(),
			Locker:         locker,
			Now:            s.now,
			Logger:         s.Logger,
		}
		if o.metrics != nil {
			opts.OnDeleted = o.metrics.JanitorDeleted
		}
		var err error
		if o.janitor, err = janitor.New(s.Store, opts); err != nil {
			return nil, fmt.Errorf("janitor: %w", err)
		}
	}
	return o, nil
}

// attachOps connects ops to the built features and the engine: client
// change events drop the client from the OAuth client cache, and the
// metrics middleware goes first on the engine, so it also counts requests
// the protections refuse, with /metrics mounted.
func (s *Server) attachOps() {
	// Subscribed here rather than in runOps: the local bus delivers on
	// Publish, also to a server that is only used as an http.Handler.
	s.ops.bus.Subscribe(TopicClients, s.features.oauth.InvalidateClient)
	// The Postgres backend announces every committed revocation, from any
	// process on the database (notify.TopicRevocations); the payload is
	// unused, and the empty one after a reconnect means "maybe missed".
	s.ops.bus.Subscribe(notify.TopicRevocations, func(string) { s.features.oauth.InvalidateRevocations() })
	if s.ops.metrics != nil {
		s.Engine.Use(s.ops.metrics.Middleware())
	}
	// After the metrics middleware, so refused methods are counted (as
	// "other"), before every protection and route.
	s.Engine.Use(refuseUnknownMethods())
	s.Engine.Use(s.closeWhileDraining)
	if s.ops.metrics != nil && s.metricsLn == nil {
		s.Engine.GET("/metrics", gin.WrapH(s.ops.metrics.Handler()))
	}
}

// listenMetrics opens the SESAME_METRICS_LISTEN listener, if configured:
// /metrics is then served there only, not on the public listener.
func (s *Server) listenMetrics() error {
	if s.Config.MetricsListen == "" || !s.Config.Metrics {
		return nil
	}
	ln, err := net.Listen("tcp", s.Config.MetricsListen)
	if err != nil {
		return fmt.Errorf("listen on %s (SESAME_METRICS_LISTEN): %w", s.Config.MetricsListen, err)
	}
	s.metricsLn = ln
	return nil
}

// MetricsAddr is the address of the SESAME_METRICS_LISTEN listener, "" when
// /metrics is served on the main listener (or not at all).
func (s *Server) MetricsAddr() string {
	if s.metricsLn == nil {
		return ""
	}
	return s.metricsLn.Addr().String()
}

// serveMetrics serves /metrics on the metrics listener until bg ends.
func (s *Server) serveMetrics(bg context.Context, wg *sync.WaitGroup) {
	if s.metricsLn == nil {
		return
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.ops.metrics.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, MaxHeaderBytes: 16 << 10,
		ErrorLog: slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn)}
	wg.Go(func() {
		<-bg.Done()
		_ = srv.Close()
	})
	wg.Go(func() {
		s.Logger.Info("metrics listening", "addr", s.metricsLn.Addr().String())
		if err := srv.Serve(s.metricsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Warn("metrics listener", "err", err)
		}
	})
}

// throttleStore is where the brute-force guard keeps its counters,
// counted for metrics when they are on.
func (s *Server) throttleStore() storage.ThrottleStore {
	if s.ops != nil && s.ops.metrics != nil {
		return s.ops.metrics.ThrottleStore(s.Store)
	}
	return s.Store
}

// runOps starts the background work of ops on wg until ctx ends: the bus
// listener, the key reloads it triggers, and the janitor.
func (s *Server) runOps(ctx context.Context, wg *sync.WaitGroup) {
	o := s.ops
	// A burst of key events (a rotation of every algorithm) needs one
	// reload, not one per event: coalesce into a single pending signal.
	reload := make(chan struct{}, 1)
	o.bus.Subscribe(notify.TopicKeys, func(string) {
		select {
		case reload <- struct{}{}:
		default:
		}
	})
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-reload:
			}
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			if err := s.features.keys.Reload(rctx); err != nil && ctx.Err() == nil {
				s.Logger.Warn("reload signing keys after notification", "err", err)
			}
			cancel()
		}
	})
	wg.Go(func() {
		if err := o.bus.Run(ctx); err != nil {
			s.Logger.Error("event bus stopped", "err", err)
		}
	})
	if o.janitor != nil {
		wg.Go(func() { o.janitor.Run(ctx) })
	}
}

// keysChanged is the keys.Options.OnChange hook: on Postgres it tells
// every instance (and, from the CLI's `sesame keys rotate`, every running
// server) to reload the signing keys at once instead of at their next
// periodic refresh. With SQLite there is no other server to tell.
func keysChanged(store storage.Store, logger *slog.Logger) func() {
	p, ok := store.(pooled)
	if !ok {
		return nil
	}
	bus := notify.NewPostgres(p.Pool(), logger)
	return func() {
		// Key changes are rare; a short synchronous publish keeps a CLI
		// process from exiting before it is sent.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := bus.Publish(ctx, notify.TopicKeys, ""); err != nil {
			logger.Warn("announce signing key change to other instances", "err", err)
		}
	}
}

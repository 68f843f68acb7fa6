package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/config"
	"github.com/sesameauth/sesame/internal/mail"
	"github.com/sesameauth/sesame/internal/password"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/dial"
	"github.com/sesameauth/sesame/web/ui"
)

// Server holds every long-lived dependency of the running process.
type Server struct {
	Config   config.Config
	Logger   *slog.Logger
	Store    storage.Store
	Migrator dial.Migrator
	Ring     *secret.Keyring
	App      *app.Service
	Engine   *gin.Engine

	out io.Writer // where first-start demo credentials are printed
	// upstreamHTTP reaches upstream providers (nil: a client with a
	// timeout; tests inject one).
	upstreamHTTP *http.Client
	now          func() time.Time
	// cimdLoopback lets client ID metadata documents be fetched over
	// http from loopback (tests only; WithCIMDLoopbackForTests).
	cimdLoopback bool
	// cimdRoots verifies the https servers of client ID metadata
	// documents instead of the system pool (tests only;
	// WithCIMDRootCAsForTests).
	cimdRoots    *x509.CertPool
	tls          *tls.Config
	features     *features
	mailWorker   *mail.Worker // nil without SESAME_SMTP_URL (mail.go)
	smtpTLS      *tls.Config
	mailInterval time.Duration // mail worker poll interval (0: its default)
	ops          *ops          // metrics, event bus, janitor (ops.go)
	metricsLn    net.Listener  // SESAME_METRICS_LISTEN; nil = /metrics on the main listener
	closeOnce    sync.Once
	// draining is set when shutdown begins: /readyz answers 503 and every
	// response closes its connection (http.go), while the server still
	// serves for ShutdownDelay.
	draining atomic.Bool
}

// Option adjusts New.
type Option func(*Server)

// WithOutput sets where the demo credentials are printed (default stdout).
// They go to the terminal, never to the log.
func WithOutput(w io.Writer) Option { return func(s *Server) { s.out = w } }

// WithUpstreamHTTPClient sets the client that reaches upstream providers
// (tests that stop an upstream mid-way).
func WithUpstreamHTTPClient(c *http.Client) Option { return func(s *Server) { s.upstreamHTTP = c } }

// WithMailInterval sets how often the mail worker polls the queue (tests).
func WithMailInterval(d time.Duration) Option { return func(s *Server) { s.mailInterval = d } }

// WithCIMDLoopbackForTests lets the server fetch client ID metadata
// documents (and jwks_uri) over http or https from loopback addresses, so
// that a test can serve them from httptest on 127.0.0.1. For tests only:
// it is deliberately not a setting; private and link-local addresses stay
// refused.
func WithCIMDLoopbackForTests() Option { return func(s *Server) { s.cimdLoopback = true } }

// WithCIMDRootCAsForTests makes the server trust roots, instead of the
// system pool, when it fetches client ID metadata documents: a test
// serves them from httptest.NewTLSServer, because clients (the MCP SDK's
// among them) name only https URLs as client ids. For tests only, like
// WithCIMDLoopbackForTests.
func WithCIMDRootCAsForTests(roots *x509.CertPool) Option {
	return func(s *Server) { s.cimdRoots = roots }
}

// WithClock injects the clock (tests).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// New opens the store and builds the server. On error everything opened so
// far is closed again.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger, opts ...Option) (_ *Server, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{Config: cfg, Logger: logger, out: os.Stdout, now: time.Now}
	for _, o := range opts {
		o(s)
	}

	// 1. TLS material first: a bad certificate should fail before any
	//    database work.
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("invalid SESAME_TLS_CERT/SESAME_TLS_KEY: %w", err)
		}
		s.tls = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}

	// The look of the pages: a broken theme stops start-up before any
	// database work, like bad TLS material.
	theme, err := ui.LoadTheme(cfg.ThemeDir)
	if err != nil {
		return nil, fmt.Errorf("invalid SESAME_THEME_DIR %q: %w", cfg.ThemeDir, err)
	}
	ui.Use(theme)

	// 2. Store and schema.
	if s.Store, s.Migrator, err = dial.OpenWith(ctx, cfg.DatabaseURL, dial.Options{ListenURL: cfg.DatabaseListenURL}); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = s.Store.Close()
		}
	}()
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}

	// 3. System secret and use cases.
	ring, source, err := cfg.Keyring()
	if err != nil {
		return nil, err
	}
	s.Ring = ring
	logger.Info("system secret loaded", "source", source)
	// Client writes are announced so every instance's client cache drops
	// the client at once (ops_clients.go).
	s.App = app.New(s.announceClientWrites(s.Store), s.Ring, password.Params{
		MemoryKiB: cfg.Argon2MemoryKiB, Iterations: cfg.Argon2Iterations, Parallelism: cfg.Argon2Parallelism,
	}, s.now).WithPasswordMinLength(cfg.PasswordMinLength).WithAccounts(AccountSettings(cfg)).
		// Forgot-password and sign-up mail, limited per address and recipient.
		WithLimiter(throttle.NewLimiter(s.Store, s.now), app.MailLimits{}).
		// Queued mail wakes this instance's worker once it commits.
		WithMailNotify(s.mailQueued)

	// 4. First-start demo data (SQLite only).
	if err := s.bootstrapDemo(ctx); err != nil {
		return nil, fmt.Errorf("demo bootstrap: %w", err)
	}

	// 5. Metrics, the cross-instance event bus and the janitor (ops.go),
	//    then signing keys, protocol handlers and the web UI.
	if s.ops, err = s.buildOps(); err != nil {
		return nil, err
	}
	if s.mailWorker, err = s.buildMail(); err != nil {
		return nil, err
	}
	if s.features, err = s.buildFeatures(ctx); err != nil {
		return nil, err
	}

	// 6. HTTP.
	if err := s.listenMetrics(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil && s.metricsLn != nil {
			_ = s.metricsLn.Close()
		}
	}()
	s.Engine = newEngine(logger)
	s.attachOps()
	if err := s.protect(); err != nil {
		return nil, err
	}
	if err := s.mount(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) migrate(ctx context.Context) error {
	if s.Config.AutoMigrate {
		n, err := s.Migrator.Migrate(ctx)
		if err != nil {
			return fmt.Errorf("apply migrations: %w", err)
		}
		s.Logger.Info("schema up to date", "applied", n)
		return nil
	}
	status, err := s.Migrator.MigrationStatus(ctx)
	if err != nil {
		return fmt.Errorf("migration status: %w", err)
	}
	pending := 0
	for _, st := range status {
		if !st.Applied {
			pending++
		}
	}
	if pending > 0 {
		return fmt.Errorf("%d schema migration(s) pending: run `sesame migrate up` first (or start without --no-migrate)", pending)
	}
	return nil
}

// mount registers every route. Feature handlers (oauth, oidc, web, admin)
// are built in New after step 4 from the fields of s, kept on s, and
// mounted here, each with its own Mount(r gin.IRouter); a handler whose
// New rejects a missing dependency makes New fail.
func (s *Server) mount() error {
	s.Engine.GET("/healthz", s.healthz)
	s.Engine.GET("/readyz", s.readyz)
	f := s.features
	f.oauth.Mount(s.Engine)
	f.oidc.Mount(s.Engine)
	f.web.Mount(s.Engine)
	if f.demo != nil {
		f.demo.Mount(s.Engine)
	}
	f.admin.Mount(s.Engine)
	return nil
}

// Handler is the HTTP handler (for httptest in end-to-end tests).
func (s *Server) Handler() http.Handler { return s.Engine }

// Run listens on Config.Listen and serves until ctx ends (see Serve).
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.Config.Listen)
	if err != nil {
		s.Close()
		return fmt.Errorf("listen on %s (SESAME_LISTEN): %w", s.Config.Listen, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends, then stops accepting connections,
// lets in-flight requests finish for up to ShutdownTimeout and closes the
// store. It returns nil after a clean drain.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	defer s.Close()
	// Background work (key rotation, pruning, reloads for multi-instance
	// deployments) stops with the server.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var bgDone sync.WaitGroup
	bgDone.Go(func() { s.features.keys.Run(bg) })
	s.runOps(bg, &bgDone)
	s.runMail(bg, &bgDone)
	s.startPprof(bg, &bgDone)
	s.serveMetrics(bg, &bgDone)
	defer func() { stopBG(); bgDone.Wait() }()
	srv := &http.Server{
		Handler:           s.Engine,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
		TLSConfig:         s.tls,
	}
	errc := make(chan error, 1)
	go func() {
		if s.tls != nil {
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	scheme := "http"
	if s.tls != nil {
		scheme = "https"
	}
	s.Logger.Info("listening", "addr", ln.Addr().String(), "scheme", scheme, "issuer", s.Config.Issuer)

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// Go's Shutdown closes idle keep-alive connections at once, and a
	// request a client was just sending on one gets a reset. First tell
	// the load balancer (/readyz 503) and the clients (Connection: close)
	// and keep serving until they have moved on.
	s.draining.Store(true)
	if d := s.Config.ShutdownDelay; d > 0 {
		s.Logger.Info("draining: /readyz answers 503; serving on before shutdown", "delay", d)
		select {
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		case <-time.After(d):
		}
	}
	s.Logger.Info("shutting down", "timeout", s.Config.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.Config.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	s.Logger.Info("stopped")
	return nil
}

// Close releases the store. It is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		if s.Store != nil {
			if err := s.Store.Close(); err != nil {
				s.Logger.Warn("close store", "err", err)
			}
		}
	})
}

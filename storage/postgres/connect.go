package postgres

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options are the connection settings beyond the main URL.
type Options struct {
	// SessionURL is a direct connection to the primary (not through a
	// transaction-pooling proxy such as PgBouncer in transaction mode)
	// for what needs one server session: LISTEN/NOTIFY, session advisory
	// locks (the janitor, migrations). Empty: the main URL is used, and
	// must then be direct too (SESAME_DATABASE_LISTEN_URL).
	SessionURL string
}

// ErrPooledSession is returned by OpenWith when the URL that must carry
// session state goes through a transaction-pooling proxy.
var ErrPooledSession = errors.New("postgres: the connection goes through a transaction-pooling proxy " +
	"(PgBouncer pool_mode=transaction?): LISTEN/NOTIFY and session advisory locks would be lost between transactions")

// sessionPoolConns is the default size of a separate session pool: the
// janitor's lock and a migration each hold one connection, publishing
// takes one briefly; the listener has its own.
const sessionPoolConns = 4

// OpenWith is Open with Options. A URL naming several hosts
// (postgres://u@h1:5432,h2:5432/db or host=h1,h2 port=5432,5432) connects
// to the first that takes writes: target_session_attrs defaults to
// read-write then, so that after a failover new connections find the new
// primary by themselves.
//
// Each URL is probed for transaction pooling (two connections, a handful
// of round trips): the session URL — the main one when SessionURL is
// empty — must not be pooled (ErrPooledSession); a pooled main URL with a
// separate session URL is used without prepared statements, which would
// not survive the switch of server connection between transactions.
func OpenWith(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := poolConfig(url)
	if err != nil {
		return nil, err
	}
	if unset(url, "pool_max_conns") {
		// pgxpool's default (max(4, NumCPU)) queues requests behind a
		// handful of connections; an authorization server spends most of
		// a request waiting on short queries, so allow more in flight.
		cfg.MaxConns = int32(max(8, 4*runtime.NumCPU()))
	}
	pingCtx, cancel := context.WithTimeout(ctx, openPingTimeout)
	defer cancel()
	pooled, err := transactionPooled(pingCtx, cfg.ConnConfig)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect to %s: %w", describe(cfg), err)
	}

	var sessCfg *pgxpool.Config
	switch {
	case opts.SessionURL == "" && pooled:
		return nil, fmt.Errorf("%w; %s: set SESAME_DATABASE_LISTEN_URL to a direct connection to the primary", ErrPooledSession, describe(cfg))
	case opts.SessionURL != "":
		if sessCfg, err = poolConfig(opts.SessionURL); err != nil {
			return nil, fmt.Errorf("session url: %w", err)
		}
		if unset(opts.SessionURL, "pool_max_conns") {
			sessCfg.MaxConns = sessionPoolConns
		}
		sp, err := transactionPooled(pingCtx, sessCfg.ConnConfig)
		if err != nil {
			return nil, fmt.Errorf("postgres: connect to %s (session url): %w", describe(sessCfg), err)
		}
		if sp {
			return nil, fmt.Errorf("%w; %s: SESAME_DATABASE_LISTEN_URL must be a direct connection to the primary", ErrPooledSession, describe(sessCfg))
		}
	}
	if pooled && unset(url, "default_query_exec_mode") {
		// Exec mode sends each statement with an unnamed prepared
		// statement inside one protocol sync, which a transaction pooler
		// keeps on one server connection; the default caches named
		// statements per connection, which breaks when the pooler hands
		// the next transaction to another server connection.
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	}

	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: create pool for %s: %w", describe(cfg), err)
	}
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s: %w", describe(cfg), err)
	}
	s := &Store{pool: pool, session: pool, now: time.Now}
	if sessCfg != nil {
		if s.session, err = pgxpool.NewWithConfig(ctx, sessCfg); err != nil {
			pool.Close()
			return nil, fmt.Errorf("postgres: create session pool for %s: %w", describe(sessCfg), err)
		}
	}
	return s, nil
}

// unset reports whether the connection string leaves param unset
// (pgxpool cannot tell us whether a value came from the URL).
func unset(url, param string) bool { return !strings.Contains(url, param) }

// poolConfig parses url and applies Sesame's defaults for what it leaves
// unset.
func poolConfig(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgconn redacts the password in its parse errors.
		return nil, fmt.Errorf("postgres: parse database url: %w", err)
	}
	cc := cfg.ConnConfig
	if cc.ConnectTimeout == 0 {
		// Per host: with several hosts a dead one costs this much
		// before the next is tried.
		cc.ConnectTimeout = defaultConnectTimeout
	}
	if len(cc.Fallbacks) > 0 && unset(url, "target_session_attrs") {
		// Several hosts are a primary and its standbys: writes must go
		// to the primary, whichever host it is now.
		cc.ValidateConnect = pgconn.ValidateConnectTargetSessionAttrsReadWrite
	}
	cc.OnPgError = evictOnError(cc.OnPgError)
	// Dead connections (server restart, failover, idle timeouts in a proxy)
	// are found and replaced in the background rather than on a request.
	if unset(url, "pool_health_check_period") {
		cfg.HealthCheckPeriod = 15 * time.Second
	}
	if unset(url, "pool_max_conn_idle_time") {
		cfg.MaxConnIdleTime = 5 * time.Minute
	}
	if unset(url, "pool_max_conn_lifetime") {
		cfg.MaxConnLifetime = time.Hour
		cfg.MaxConnLifetimeJitter = 5 * time.Minute
	}
	if _, ok := cc.RuntimeParams["application_name"]; !ok {
		cc.RuntimeParams["application_name"] = "sesame"
	}
	return cfg, nil
}

// evictOnError closes a connection on the errors that say its server is
// no longer the primary, besides the FATAL ones pgconn closes on already
// (admin_shutdown 57P01 and the like): the pool then drops it on release
// and the next connection finds the primary. Without this a connection
// to a demoted primary would answer every write with 25006 until its
// lifetime ends.
func evictOnError(prev pgconn.PgErrorHandler) pgconn.PgErrorHandler {
	return func(c *pgconn.PgConn, e *pgconn.PgError) bool {
		switch e.Code {
		case "25006", // read_only_sql_transaction: a standby, or a demoted primary
			"57P01", // admin_shutdown
			"57P02", // crash_shutdown
			"57P03": // cannot_connect_now: starting up or shutting down
			return false
		}
		if prev != nil {
			return prev(c, e)
		}
		return !strings.EqualFold(e.Severity, "FATAL")
	}
}

// transactionPooled tells whether connections made with cc go through a
// transaction (or statement) pooling proxy: on a direct connection, or a
// proxy in session mode, one client connection keeps one server backend
// for its life and no other client shares it. Two client connections are
// compared: a's backend must stay the same across statements, including
// while b holds a transaction, and b's must differ. Only the simple
// protocol is used, so the probe itself works through any pooler.
func transactionPooled(ctx context.Context, cc *pgx.ConnConfig) (bool, error) {
	cc = cc.Copy()
	cc.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	a, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return false, err
	}
	defer a.Close(context.WithoutCancel(ctx))
	pid := func(q interface {
		QueryRow(context.Context, string, ...any) pgx.Row
	}) (int32, error) {
		var p int32
		err := q.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&p)
		return p, err
	}
	p1, err := pid(a)
	if err != nil {
		return false, err
	}
	if p2, err := pid(a); err != nil || p2 != p1 {
		return err == nil, err
	}
	b, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return false, err
	}
	defer b.Close(context.WithoutCancel(ctx))
	tx, err := b.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	pb, err := pid(tx)
	if err != nil || pb == p1 {
		return err == nil, err
	}
	p3, err := pid(a)
	return err == nil && p3 != p1, err
}

package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgxlisten"

	"github.com/sesameauth/sesame/storage"
)

// Topics the server uses.
const (
	// TopicKeys: the signing keys changed; payload unused.
	TopicKeys = "keys"
	// TopicRevocations: a store committed a write that can make an access
	// token inactive; payload unused. The Postgres backend announces these
	// itself, on storage.RevocationChannel, so that every process writing
	// to the database (the CLI too) reaches every server.
	TopicRevocations = "revocations"
)

// Channel is the Postgres NOTIFY channel every instance listens on.
const Channel = "sesame_events"

// maxPayload is below Postgres's 8000-byte NOTIFY payload limit, leaving
// room for the topic and JSON framing.
const maxPayload = 7000

// Bus publishes events to every instance and delivers them to local
// subscribers.
type Bus interface {
	// Publish sends payload under topic to every instance (this one too).
	Publish(ctx context.Context, topic, payload string) error
	// Subscribe registers fn for topic. fn also gets the empty payload
	// after the bus (re)connected and may have missed events.
	Subscribe(topic string, fn func(payload string))
	// Run delivers events until ctx ends.
	Run(ctx context.Context) error
}

// subscribers is the topic → handlers table both buses share.
type subscribers struct {
	mu sync.RWMutex
	m  map[string][]func(string)
}

func (s *subscribers) add(topic string, fn func(string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string][]func(string){}
	}
	s.m[topic] = append(s.m[topic], fn)
}

func (s *subscribers) deliver(topic, payload string) {
	s.mu.RLock()
	fns := s.m[topic]
	s.mu.RUnlock()
	for _, fn := range fns {
		fn(payload)
	}
}

// deliverAll tells every subscriber it may have missed events.
func (s *subscribers) deliverAll() {
	s.mu.RLock()
	var all []func(string)
	for _, fns := range s.m {
		all = append(all, fns...)
	}
	s.mu.RUnlock()
	for _, fn := range all {
		fn("")
	}
}

// Local is a Bus within one process.
type Local struct{ subs subscribers }

// NewLocal returns an in-process bus.
func NewLocal() *Local { return &Local{} }

// Publish calls topic's subscribers before returning.
func (l *Local) Publish(_ context.Context, topic, payload string) error {
	l.subs.deliver(topic, payload)
	return nil
}

// Subscribe implements Bus.
func (l *Local) Subscribe(topic string, fn func(string)) { l.subs.add(topic, fn) }

// Run waits for ctx: a local bus has nothing to listen to.
func (l *Local) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// event is the NOTIFY payload.
type event struct {
	Topic   string `json:"t"`
	Payload string `json:"p,omitempty"`
}

// Postgres is a Bus over LISTEN/NOTIFY.
type Postgres struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
	subs   subscribers
	// ReconnectDelay is the wait before reconnecting the listener after
	// a lost connection (default 2s).
	ReconnectDelay time.Duration
	// connected is called after each successful LISTEN, with the
	// listening connection, before the subscribers are told to reload
	// (tests).
	connected func(*pgx.Conn)
}

// NewPostgres returns a bus publishing through pool. Run opens its own
// connection with pool's connection settings, outside the pool, so that a
// long-lived LISTEN never takes a slot from requests.
func NewPostgres(pool *pgxpool.Pool, logger *slog.Logger) *Postgres {
	if logger == nil {
		logger = slog.Default()
	}
	return &Postgres{pool: pool, logger: logger.With("component", "notify"), ReconnectDelay: 2 * time.Second}
}

// Publish runs pg_notify. Inside a store transaction it would be delivered
// at commit; through the pool, as here, it is delivered at once.
func (p *Postgres) Publish(ctx context.Context, topic, payload string) error {
	if len(payload) > maxPayload {
		return fmt.Errorf("notify: payload of %d bytes exceeds %d", len(payload), maxPayload)
	}
	b, err := json.Marshal(event{Topic: topic, Payload: payload})
	if err != nil {
		return fmt.Errorf("notify: encode: %w", err)
	}
	if _, err := p.pool.Exec(ctx, "SELECT pg_notify($1, $2)", Channel, string(b)); err != nil {
		return fmt.Errorf("notify: publish %s: %w", topic, err)
	}
	return nil
}

// Subscribe implements Bus.
func (p *Postgres) Subscribe(topic string, fn func(string)) { p.subs.add(topic, fn) }

// Run listens until ctx ends, reconnecting after failures.
func (p *Postgres) Run(ctx context.Context) error {
	l := &pgxlisten.Listener{
		Connect: func(ctx context.Context) (*pgx.Conn, error) {
			cc := p.pool.Config().ConnConfig.Copy()
			// Tell the listener apart in pg_stat_activity.
			if cc.RuntimeParams == nil {
				cc.RuntimeParams = map[string]string{}
			}
			cc.RuntimeParams["application_name"] = cc.RuntimeParams["application_name"] + " listener"
			conn, err := pgx.ConnectConfig(ctx, cc)
			if err != nil {
				return nil, err
			}
			// LISTEN on every channel before any backlog handler runs:
			// pgxlisten LISTENs channel by channel in map order and runs
			// a channel's backlog handler right after its own LISTEN, so
			// the "reload everything" below could otherwise run before
			// sesame_revocations is listened to, and a revocation
			// committed in between would be lost after the flush.
			for _, ch := range []string{Channel, storage.RevocationChannel} {
				if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
					_ = conn.Close(ctx)
					return nil, fmt.Errorf("listen %s: %w", ch, err)
				}
			}
			return conn, nil
		},
		LogError: func(ctx context.Context, err error) {
			if ctx.Err() == nil {
				p.logger.Warn("listener", "err", err)
			}
		},
		ReconnectDelay: p.ReconnectDelay,
	}
	l.Handle(Channel, handler{p})
	l.Handle(storage.RevocationChannel, revocationHandler{p})
	err := l.Listen(ctx)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// handler adapts Postgres to pgxlisten.
type handler struct{ p *Postgres }

// HandleNotification decodes one event and delivers it.
func (h handler) HandleNotification(_ context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
	var e event
	if err := json.Unmarshal([]byte(n.Payload), &e); err != nil {
		return fmt.Errorf("notify: undecodable payload from pid %d: %w", n.PID, err)
	}
	h.p.subs.deliver(e.Topic, e.Payload)
	return nil
}

// revocationHandler turns the backend's revocation notices into
// TopicRevocations events.
type revocationHandler struct{ p *Postgres }

func (h revocationHandler) HandleNotification(context.Context, *pgconn.Notification, *pgx.Conn) error {
	h.p.subs.deliver(TopicRevocations, "")
	return nil
}

// HandleBacklog runs after LISTEN on every (re)connection (Connect has
// listened on every channel by then): whatever was published while this
// instance was not listening is lost, so every subscriber reloads. A
// notification of something committed after this point reaches the
// subscribers on its own.
func (h handler) HandleBacklog(_ context.Context, _ string, conn *pgx.Conn) error {
	if h.p.connected != nil {
		h.p.connected(conn)
	}
	h.p.subs.deliverAll()
	return nil
}

var (
	_ Bus                      = (*Local)(nil)
	_ Bus                      = (*Postgres)(nil)
	_ pgxlisten.BacklogHandler = handler{}
)

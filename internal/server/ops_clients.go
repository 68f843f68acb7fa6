package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/sesameauth/sesame/internal/notify"
	"github.com/sesameauth/sesame/storage"
)

// TopicClients carries the id of a client that was updated, had its
// secret rotated or was deleted; the empty payload means "any client".
const TopicClients = "clients"

// AnnounceClientWrites wraps store so that every client update, secret
// rotation or deletion made through it is announced, once committed, on
// the Postgres event bus: every server sharing the database drops that
// client from its in-memory cache (oauth.Handler.InvalidateClient) at once
// instead of after the cache TTL. The CLI, which writes clients from its
// own process, should wrap its store with it. With SQLite (one server
// process) store is returned unchanged.
func AnnounceClientWrites(store storage.Store, logger *slog.Logger) storage.Store {
	p, ok := store.(pooled)
	if !ok {
		return store
	}
	bus := notify.NewPostgres(p.Pool(), logger)
	return &clientAnnouncer{Store: store, announce: func(id string) { publishClient(bus, logger, id) }}
}

// announceClientWrites is AnnounceClientWrites for the server's own use
// cases (admin API, registration): this instance drops the client from
// its cache before the write call returns, then tells the others.
func (s *Server) announceClientWrites(store storage.Store) storage.Store {
	return &clientAnnouncer{Store: store, announce: func(id string) {
		if s.features != nil {
			s.features.oauth.InvalidateClient(id)
		}
		if s.ops != nil {
			publishClient(s.ops.bus, s.Logger, id)
		}
	}}
}

func publishClient(bus notify.Bus, logger *slog.Logger, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := bus.Publish(ctx, TopicClients, id); err != nil {
		// The other instances' caches expire on their own (TTL).
		logger.Warn("announce client change to other instances", "err", err)
	}
}

// clientAnnouncer is a storage.Store whose client writes are announced.
// Writes inside a transaction are announced after its commit, so that no
// instance reloads the old row between the announcement and the commit;
// a rolled-back transaction announces nothing.
type clientAnnouncer struct {
	storage.Store
	announce func(id string)
}

type (
	pendingKey struct{} // *pending of the outermost transaction
	nestedKey  struct{} // set on a BeginTx inside a transaction
)

// pending collects the ids written in one transaction.
type pending struct {
	mu  sync.Mutex
	ids []string
}

func (a *clientAnnouncer) BeginTx(ctx context.Context) (context.Context, error) {
	_, inTx := ctx.Value(pendingKey{}).(*pending)
	txCtx, err := a.Store.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	if inTx {
		// The backend makes a nested BeginTx a no-op; so is our Commit.
		return context.WithValue(txCtx, nestedKey{}, true), nil
	}
	return context.WithValue(txCtx, pendingKey{}, &pending{}), nil
}

func (a *clientAnnouncer) Commit(ctx context.Context) error {
	if err := a.Store.Commit(ctx); err != nil {
		return err
	}
	if ctx.Value(nestedKey{}) != nil {
		return nil
	}
	if p, ok := ctx.Value(pendingKey{}).(*pending); ok {
		p.mu.Lock()
		ids := p.ids
		p.ids = nil
		p.mu.Unlock()
		for _, id := range ids {
			a.announce(id)
		}
	}
	return nil
}

// changed announces id now, or at the commit of the enclosing transaction.
func (a *clientAnnouncer) changed(ctx context.Context, id string) {
	if p, ok := ctx.Value(pendingKey{}).(*pending); ok {
		p.mu.Lock()
		p.ids = append(p.ids, id)
		p.mu.Unlock()
		return
	}
	a.announce(id)
}

func (a *clientAnnouncer) UpdateClient(ctx context.Context, c storage.Client) error {
	err := a.Store.UpdateClient(ctx, c)
	if err == nil {
		a.changed(ctx, c.ID)
	}
	return err
}

func (a *clientAnnouncer) DeleteClient(ctx context.Context, id string) error {
	err := a.Store.DeleteClient(ctx, id)
	if err == nil {
		a.changed(ctx, id)
	}
	return err
}

func (a *clientAnnouncer) RotateClientSecret(ctx context.Context, id, oldHash, newHash string, keepOld bool, at time.Time) error {
	err := a.Store.RotateClientSecret(ctx, id, oldHash, newHash, keepOld, at)
	if err == nil {
		a.changed(ctx, id)
	}
	return err
}

package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/ory/fosite"

	"github.com/sesameauth/sesame/internal/httpx"
	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
)

// Brute-force protection of client authentication (token, introspection,
// revocation; client_secret_basic and client_secret_post) with the server's
// throttle.Guard (Deps.Throttle): failures are counted per client address,
// so an address lock set here or by another instance holds everywhere, and
// no client can be locked for everyone. The password grant's guard is part
// of the one password check, app.Passwords.Verify (store_users.go).
//
// The lock is checked before the secret is verified (a right guess during a
// lock reveals nothing); a lock answers invalid_client (401) for a client
// and invalid_grant for the password grant, with throttle.Message and a
// Retry-After header on the token endpoint. private_key_jwt is not counted:
// it proves possession of a private key, which cannot be guessed.

// Audit event types written here (throttle.AuditLocked is the guard's).
const (
	auditClientAuth = "client.auth_failed" // a wrong or unknown client secret
)

// cleanTTL is how long a key found without any failure counter is trusted
// to stay clean without reading the store again. Client authentication
// runs on every token, introspection and revocation request; caching the
// common "no failures" answer spares a read per request. A local failure
// drops the entry at once; a lock set by another instance is seen within
// cleanTTL. Only address keys go through the gate (the password grant's
// keys are app.Passwords', never cached).
const cleanTTL = time.Second

// cleanCacheMax bounds the cache; when full it starts again empty.
const cleanCacheMax = 10_000

// lockedError is the cause carried by an answer refused because of a lock.
type lockedError struct{ until time.Time }

func (e *lockedError) Error() string {
	return "oauth: locked after repeated failed authentications until " + e.until.UTC().Format(time.RFC3339)
}

// gate applies a throttle.Guard. A nil *gate is brute-force protection
// switched off: every method is then a no-op.
type gate struct {
	guard  *throttle.Guard
	store  failureReader
	logger *slog.Logger
	now    func() time.Time

	mu    sync.Mutex
	clean map[string]time.Time // key → known to have no counter until
}

// failureReader is the part of storage the gate reads: the counters that
// g (internal/throttle) writes.
type failureReader interface {
	GetFailures(ctx context.Context, key string) (storage.FailureCounter, error)
}

// newGate returns nil when g is nil or disabled.
func newGate(g *throttle.Guard, s failureReader, logger *slog.Logger, now func() time.Time) *gate {
	if g == nil || !g.Config().Enabled {
		return nil
	}
	return &gate{guard: g, store: s, logger: logger, now: now, clean: map[string]time.Time{}}
}

// check reads the counters of keys: whether one is locked now (and until
// when, the latest). An error means the store could not be read: the
// caller fails closed.
func (g *gate) check(ctx context.Context, keys ...string) (until time.Time, locked bool, err error) {
	now := g.now()
	for _, key := range keys {
		if g.knownClean(key, now) {
			continue
		}
		c, err := g.store.GetFailures(ctx, key)
		if errors.Is(err, storage.ErrNotFound) {
			g.markClean(key, now)
			continue
		}
		if err != nil {
			return time.Time{}, false, fmt.Errorf("oauth: read failure counter: %w", err)
		}
		if c.LockedUntil != nil && c.LockedUntil.After(now) && c.LockedUntil.After(until) {
			until, locked = *c.LockedUntil, true
		}
	}
	return until, locked, nil
}

func (g *gate) knownClean(key string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	exp, ok := g.clean[key]
	return ok && now.Before(exp)
}

func (g *gate) markClean(key string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.clean) >= cleanCacheMax {
		g.clean = map[string]time.Time{}
	}
	g.clean[key] = now.Add(cleanTTL)
}

func (g *gate) forget(keys ...string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, k := range keys {
		delete(g.clean, k)
	}
}

// caller is the client address and user agent of a token request, and the
// client it authenticated as, carried in the context down to the password
// grant's Authenticate, which fosite calls without the request.
type caller struct {
	ip, userAgent string
	mu            sync.Mutex
	clientID      string
}

type callerKey struct{}

// withCaller records r's client IP (trusted proxies honoured, see
// httpx.RequestIP) and user agent in ctx.
func withCaller(ctx context.Context, r *http.Request) context.Context {
	return context.WithValue(ctx, callerKey{}, &caller{ip: httpx.RequestIP(r), userAgent: r.UserAgent()})
}

// callerOf never returns nil (a throwaway caller outside the token endpoint).
func callerOf(ctx context.Context) *caller {
	if c, ok := ctx.Value(callerKey{}).(*caller); ok {
		return c
	}
	return &caller{}
}

func (c *caller) setClient(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clientID = id
}

func (c *caller) client() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.clientID
}

// authenticateClient is fosite's ClientAuthenticationStrategy: fosite's
// own strategy behind the guard for secret-based methods.
func (h *Handler) authenticateClient(ctx context.Context, r *http.Request, form url.Values) (fosite.Client, error) {
	if err := checkClientAuthForm(r, form); err != nil {
		return nil, err // conformance.go: refused before any count or audit
	}
	g := h.adapter.gate
	if g == nil || form.Get("client_assertion_type") != "" {
		return h.provider.DefaultClientAuthenticationStrategy(ctx, r, form)
	}
	// Issue 13 item 2: generated client secrets (256 bits) cannot be
	// guessed, so there is no per-client lock a stranger could trip for
	// everyone: only the failures of the address are counted and only the
	// address is locked (IPMaxFailures per IPWindow). The right secret
	// from another address always works.
	id := submittedClientID(r, form)
	ip := httpx.RequestIP(r)
	until, locked, err := g.check(ctx, throttle.IPKey(ip))
	if err != nil {
		stateOf(ctx).failStore(err)
		return nil, fosite.ErrServerError.WithWrap(err)
	}
	if locked {
		g.guard.Refused(ctx, throttle.IPKey(ip))
		return nil, fosite.ErrInvalidClient.WithHint(throttle.Message).WithWrap(&lockedError{until: until})
	}
	client, err := h.provider.DefaultClientAuthenticationStrategy(ctx, r, form)
	switch {
	case err == nil:
		callerOf(ctx).setClient(client.GetID())
	case stateOf(ctx).storeFailure() != nil:
		// An outage is not a failed guess.
	case errors.Is(err, errSecretMismatch) || errors.Is(err, storage.ErrNotFound) || errors.Is(err, fosite.ErrNotFound):
		// A wrong secret, or a client id that does not exist: both count
		// against the address alike.
		h.failClient(ctx, ip, r.UserAgent(), id)
	}
	return client, err
}

func (h *Handler) failClient(ctx context.Context, ip, userAgent, id string) {
	g := h.adapter.gate
	g.forget(throttle.IPKey(ip))
	if err := g.guard.Fail(ctx, ip, userAgent); err != nil {
		g.logger.WarnContext(ctx, "oauth: record failed client authentication", "err", err)
	}
	h.adapter.auditEvent(ctx, storage.AuditEvent{Type: auditClientAuth, Actor: "anonymous", ClientID: id,
		IP: ip, UserAgent: userAgent, Outcome: "failure"})
}

// submittedClientID is the client id a request claims, as fosite reads it:
// the Basic user name (form-decoded, RFC 6749 §2.3.1) or else client_id.
func submittedClientID(r *http.Request, form url.Values) string {
	if user, _, ok := r.BasicAuth(); ok {
		if id, err := url.QueryUnescape(user); err == nil {
			return id
		}
		return user
	}
	return form.Get("client_id")
}

// lockedAnswer turns an answer refused because of a lock into the error the
// client sees (nil when err is not about a lock): invalid_client for a
// client, invalid_grant for the password grant, both with throttle.Message.
func lockedAnswer(err error) error {
	var le *lockedError
	if !errors.As(err, &le) {
		return nil
	}
	if errors.Is(err, fosite.ErrInvalidClient) {
		return fosite.ErrInvalidClient.WithHint(throttle.Message).WithWrap(le)
	}
	return fosite.ErrInvalidGrant.WithHint(throttle.Message).WithWrap(le)
}

// setRetryAfter adds Retry-After (RFC 9110 §10.2.3) to an answer refused
// because of a lock.
func (h *Handler) setRetryAfter(w http.ResponseWriter, err error) {
	var le *lockedError
	if errors.As(err, &le) {
		w.Header().Set("Retry-After", strconv.Itoa(throttle.RetryAfter(le.until, h.now())))
	}
}

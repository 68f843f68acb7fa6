package keys

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"

	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// lookupMissInterval bounds how often a Lookup miss may reload the store, so
// a flood of tokens with made-up kids cannot hammer the database.
const lookupMissInterval = time.Second

// Key is one usable signing key. Values returned by the Manager are shared
// and must not be modified.
type Key struct {
	KID    string
	Alg    string          // JWS alg
	Signer crypto.Signer   // *rsa.PrivateKey, *ecdsa.PrivateKey or ed25519.PrivateKey
	Public jose.JSONWebKey // public JWK with KeyID, Algorithm and Use "sig"
	State  storage.KeyState

	retireAfter time.Time // zero unless retired
}

// Info describes a key for people and the admin API (no key material).
type Info struct {
	KID         string     `json:"kid"`
	Alg         string     `json:"alg"`
	State       string     `json:"state"`
	CreatedAt   time.Time  `json:"created_at"`
	ActivatedAt *time.Time `json:"activated_at,omitempty"`
	RetiredAt   *time.Time `json:"retired_at,omitempty"`
	RetireAfter *time.Time `json:"retire_after,omitempty"`
}

func infoOf(r storage.SigningKey) Info {
	return Info{
		KID: r.KID, Alg: r.Alg, State: string(r.State), CreatedAt: r.CreatedAt,
		ActivatedAt: r.ActivatedAt, RetiredAt: r.RetiredAt, RetireAfter: r.RetireAfter,
	}
}

// snapshot is an immutable view of the keys, swapped atomically on reload so
// the signing and verification paths never take a lock.
type snapshot struct {
	rows   []storage.SigningKey // every stored key, ordered by CreatedAt, KID
	active map[string]*Key      // by alg, algorithms in use only
	byKID  map[string]*Key      // published keys
	setID  string               // published kids in order; JWKS is rebuilt when it changes
	jwks   []byte
	etag   string
}

// Manager owns the signing keys. It is safe for concurrent use.
type Manager struct {
	store storage.KeyStore
	ring  *secret.Keyring
	opts  Options
	log   *slog.Logger

	snap atomic.Pointer[snapshot]

	loadMu sync.Mutex          // serializes Reload; guards cache
	cache  map[string]material // decrypted keys by kid

	rotMu sync.Mutex // serializes life-cycle changes made by this Manager

	missGroup singleflight.Group
	missNext  atomic.Int64         // monoNow() before which a miss does not reload
	monoNow   func() time.Duration // monotonic clock for the miss limiter
}

// New loads the keys of store and, for every algorithm in use without an
// active key (first start), generates and activates one. Several instances
// may start at once: ActivateKey's compare-and-swap picks one key per
// algorithm and the others discard theirs.
func New(ctx context.Context, store storage.KeyStore, ring *secret.Keyring, opts Options) (*Manager, error) {
	if store == nil {
		return nil, errors.New("keys: nil KeyStore")
	}
	if ring == nil {
		return nil, errors.New("keys: nil Keyring")
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	m := &Manager{
		store:   store,
		ring:    ring,
		opts:    o,
		log:     o.Logger.With("component", "keys"),
		cache:   map[string]material{},
		monoNow: func() time.Duration { return time.Since(start) },
	}
	if err := m.Reload(ctx); err != nil {
		return nil, err
	}
	if err := m.bootstrap(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// Active returns the key that signs new tokens of alg. It reads memory only.
func (m *Manager) Active(_ context.Context, alg string) (*Key, error) {
	if k := m.snap.Load().active[alg]; k != nil {
		return k, nil
	}
	if !IsSupported(alg) {
		return nil, fmt.Errorf("%w %q", ErrUnsupportedAlgorithm, alg)
	}
	return nil, fmt.Errorf("%w: %s", ErrAlgorithmNotInUse, alg)
}

// Lookup returns the published key (pending, active, or retired and not yet
// past RetireAfter) with the given kid. On a miss it reloads the store, at
// most once per second whatever the number of callers, and then returns
// ErrUnknownKey if the kid is still unknown.
func (m *Manager) Lookup(ctx context.Context, kid string) (*Key, error) {
	if k := m.published(kid); k != nil {
		return k, nil
	}
	if err := m.missReload(ctx); err != nil {
		return nil, fmt.Errorf("keys: lookup: %w", err)
	}
	if k := m.published(kid); k != nil {
		return k, nil
	}
	return nil, ErrUnknownKey
}

func (m *Manager) published(kid string) *Key {
	k := m.snap.Load().byKID[kid]
	if k == nil {
		return nil
	}
	// The snapshot is rebuilt only on reload; a retired key expiring in
	// between must stop verifying on time.
	if !k.retireAfter.IsZero() && !m.opts.Now().Before(k.retireAfter) {
		return nil
	}
	return k
}

// missReload reloads for a Lookup miss unless one happened less than
// lookupMissInterval ago. Concurrent misses share one reload.
func (m *Manager) missReload(ctx context.Context) error {
	_, err, _ := m.missGroup.Do("miss", func() (any, error) {
		now := m.monoNow()
		if now < time.Duration(m.missNext.Load()) {
			return nil, nil
		}
		m.missNext.Store(int64(now + lookupMissInterval))
		// Shared by every waiting caller: do not let the first one's
		// cancellation fail the others.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		return nil, m.Reload(rctx)
	})
	return err
}

// JWKS returns the public JWK Set (RFC 7517) and its strong ETag. The bytes
// are cached and rebuilt only when the set of published keys changes; the
// caller must not modify them.
func (m *Manager) JWKS(_ context.Context) ([]byte, string, error) {
	s := m.snap.Load()
	return s.jwks, s.etag, nil
}

// List reloads the store and describes every stored key, oldest first.
func (m *Manager) List(ctx context.Context) ([]Info, error) {
	if err := m.Reload(ctx); err != nil {
		return nil, err
	}
	rows := m.snap.Load().rows
	out := make([]Info, 0, len(rows))
	for _, r := range rows {
		out = append(out, infoOf(r))
	}
	return out, nil
}

// Reload re-reads the store and swaps in the new key set. On error the
// previous key set stays in use.
func (m *Manager) Reload(ctx context.Context) error {
	m.loadMu.Lock()
	defer m.loadMu.Unlock()
	// Listing under the lock keeps an older listing from replacing a
	// newer one when two reloads overlap.
	rows, err := m.store.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("keys: list keys: %w", err)
	}
	s, err := m.build(rows)
	if err != nil {
		return err
	}
	m.snap.Store(s)
	return nil
}

// build turns store rows into a snapshot, decrypting keys not yet cached.
// Called with loadMu held.
func (m *Manager) build(rows []storage.SigningKey) (*snapshot, error) {
	rows = slices.Clone(rows)
	slices.SortStableFunc(rows, func(a, b storage.SigningKey) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.KID, b.KID)
	})
	now := m.opts.Now()
	s := &snapshot{rows: rows, active: map[string]*Key{}, byKID: map[string]*Key{}}
	seen := make(map[string]bool, len(rows))
	var pubs []jose.JSONWebKey
	var setID strings.Builder
	for _, r := range rows {
		seen[r.KID] = true
		if r.State == storage.KeyRetired && r.RetireAfter != nil && !now.Before(*r.RetireAfter) {
			continue // expired: neither published nor decrypted; Run deletes it
		}
		mat, ok := m.cache[r.KID]
		if !ok {
			var err error
			if mat, err = openKey(m.ring, r); err != nil {
				return nil, err
			}
			m.cache[r.KID] = mat
		}
		k := &Key{KID: r.KID, Alg: r.Alg, Signer: mat.signer, Public: mat.public, State: r.State}
		if r.State == storage.KeyRetired && r.RetireAfter != nil {
			k.retireAfter = *r.RetireAfter
		}
		s.byKID[r.KID] = k
		pubs = append(pubs, mat.public)
		setID.WriteString(r.KID)
		setID.WriteByte(',')
		if r.State == storage.KeyActive && slices.Contains(m.opts.Algorithms, r.Alg) {
			if prev := s.active[r.Alg]; prev != nil {
				// The store guarantees one active key per alg; if it
				// ever does not, sign with the newest and say so.
				m.log.Error("several active keys for one algorithm", "alg", r.Alg, "kids", []string{prev.KID, r.KID})
			}
			s.active[r.Alg] = k
		}
	}
	for kid := range m.cache {
		if !seen[kid] {
			delete(m.cache, kid)
		}
	}
	s.setID = setID.String()
	if prev := m.snap.Load(); prev != nil && prev.setID == s.setID {
		s.jwks, s.etag = prev.jwks, prev.etag
		return s, nil
	}
	body, err := marshalJWKS(pubs)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	s.jwks = body
	s.etag = `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
	return s, nil
}

// changed tells the caller's hook that this Manager modified the store.
func (m *Manager) changed() {
	if m.opts.OnChange != nil {
		m.opts.OnChange()
	}
}

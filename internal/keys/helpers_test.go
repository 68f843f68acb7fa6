package keys

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
	"github.com/sesameauth/sesame/storage/sqlite"
)

// newSQLite opens a migrated SQLite store in a temporary directory.
func newSQLite(tb testing.TB) *sqlite.Store {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "sesame.db"))
	if err != nil {
		tb.Fatalf("open sqlite: %v", err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		tb.Fatalf("migrate sqlite: %v", err)
	}
	return st
}

// countingStore counts ListKeys calls (how often the Manager hits the DB).
type countingStore struct {
	storage.KeyStore
	lists atomic.Int64
}

func (c *countingStore) ListKeys(ctx context.Context) ([]storage.SigningKey, error) {
	c.lists.Add(1)
	return c.KeyStore.ListKeys(ctx)
}

// testRing builds a keyring whose secret is 32 copies of b.
func testRing(tb testing.TB, b byte, old ...byte) *secret.Keyring {
	tb.Helper()
	var olds [][]byte
	for _, o := range old {
		olds = append(olds, bytes.Repeat([]byte{o}, 32))
	}
	r, err := secret.New(bytes.Repeat([]byte{b}, 32), olds...)
	if err != nil {
		tb.Fatalf("keyring: %v", err)
	}
	return r
}

// fakeClock is an injectable, manually advanced clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newManager(tb testing.TB, st storage.KeyStore, ring *secret.Keyring, opts Options) *Manager {
	tb.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	m, err := New(context.Background(), st, ring, opts)
	if err != nil {
		tb.Fatalf("keys.New: %v", err)
	}
	return m
}

// signWith signs payload as a compact JWS with k, kid in the header, the
// way the oauth package will.
func signWith(tb testing.TB, k *Key, payload []byte) string {
	tb.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.Alg), Key: k.Signer},
		(&jose.SignerOptions{}).WithHeader("kid", k.KID).WithType("JWT"))
	if err != nil {
		tb.Fatalf("NewSigner %s: %v", k.Alg, err)
	}
	obj, err := s.Sign(payload)
	if err != nil {
		tb.Fatalf("sign %s: %v", k.Alg, err)
	}
	tok, err := obj.CompactSerialize()
	if err != nil {
		tb.Fatalf("serialize: %v", err)
	}
	return tok
}

var allAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.EdDSA}

// verifyViaLookup verifies tok the way a verifier inside Sesame would:
// kid from the header, key from Lookup.
func verifyViaLookup(ctx context.Context, m *Manager, tok string) ([]byte, error) {
	obj, err := jose.ParseSigned(tok, allAlgs)
	if err != nil {
		return nil, err
	}
	k, err := m.Lookup(ctx, obj.Signatures[0].Header.KeyID)
	if err != nil {
		return nil, err
	}
	return obj.Verify(k.Public)
}

// kidsOf returns the kids of a JWKS body.
func kidsOf(tb testing.TB, body []byte) map[string]bool {
	tb.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		tb.Fatalf("parse JWKS: %v\n%s", err, body)
	}
	out := map[string]bool{}
	for _, k := range set.Keys {
		if !k.IsPublic() {
			tb.Fatalf("JWKS key %s is not public", k.KeyID)
		}
		out[k.KeyID] = true
	}
	return out
}

// byState counts the stored keys of alg per state.
func byState(tb testing.TB, st storage.KeyStore, alg string) map[storage.KeyState]int {
	tb.Helper()
	rows, err := st.ListKeys(context.Background())
	if err != nil {
		tb.Fatalf("ListKeys: %v", err)
	}
	out := map[storage.KeyState]int{}
	for _, r := range rows {
		if r.Alg == alg {
			out[r.State]++
		}
	}
	return out
}

// storeFactory opens a fresh, migrated store for one test.
type storeFactory func(testing.TB) storage.KeyStore

// forEachBackend runs fn against SQLite and Postgres. Postgres needs
// SESAME_TEST_DATABASE_URL (skipped without it unless CI is set, see
// pgtest); it is the multi-instance production store, so the rotation
// races run there too.
func forEachBackend(t *testing.T, fn func(t *testing.T, open storeFactory)) {
	backends := []struct {
		name string
		open storeFactory
	}{
		{"sqlite", func(tb testing.TB) storage.KeyStore { return newSQLite(tb) }},
		{"postgres", func(tb testing.TB) storage.KeyStore { return pgtest.Open(tb) }},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b.open) })
	}
}

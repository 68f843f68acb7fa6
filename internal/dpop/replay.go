package dpop

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"sync"
	"time"
)

// DefaultReplaySize bounds the jtis remembered per process: with the
// default ±60 s window that is ~800 proofs a second, sustained.
const DefaultReplaySize = 100_000

// ReplayCache remembers the jti of every accepted proof until the proof
// would be refused as stale anyway (RFC 9449 §11.1). It lives in memory,
// per process: behind a load balancer, a proof replayed to another
// instance within the window is not detected there (documented in
// docs/tokens.md).
//
// It is bounded in time (entries expire) and in size: when full, the
// oldest entry is dropped, and so that its proof cannot then be replayed,
// proofs no later than the newest dropped entry are refused from then on
// until they would be stale. Under a flood the accepted window shrinks;
// a replay is never accepted.
type ReplayCache struct {
	mu      sync.Mutex
	max     int
	now     func() time.Time
	seen    map[string]time.Time // key -> expiry
	order   []replayEntry        // insertion order (a ring once full)
	head    int
	dropped time.Time // expiry of the newest entry dropped while live
}

type replayEntry struct {
	key string
	exp time.Time
}

// NewReplayCache remembers at most max entries (DefaultReplaySize if ≤ 0).
func NewReplayCache(max int, now func() time.Time) *ReplayCache {
	if max <= 0 {
		max = DefaultReplaySize
	}
	if now == nil {
		now = time.Now
	}
	return &ReplayCache{max: max, now: now, seen: make(map[string]time.Time)}
}

// Claim records key until exp and reports whether it was new. The expiry
// of a proof is iat + window, so an entry dropped while live has a later
// expiry than any proof it could be confused with only if that proof is
// newer: refusing exp ≤ dropped refuses every possibly forgotten proof.
func (c *ReplayCache) Claim(key string, exp time.Time) bool {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !exp.After(c.dropped) && c.dropped.After(now) {
		return false
	}
	if e, ok := c.seen[key]; ok && e.After(now) {
		return false
	}
	if len(c.order) < c.max {
		c.order = append(c.order, replayEntry{key, exp})
	} else {
		old := c.order[c.head]
		if cur, ok := c.seen[old.key]; ok && cur.Equal(old.exp) {
			delete(c.seen, old.key)
			if old.exp.After(now) && old.exp.After(c.dropped) {
				c.dropped = old.exp
			}
		}
		c.order[c.head] = replayEntry{key, exp}
		c.head = (c.head + 1) % c.max
	}
	c.seen[key] = exp
	return true
}

// Len is the number of remembered keys (for tests and metrics).
func (c *ReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

// Nonces issues and checks server nonces (RFC 9449 §8) without state: a
// nonce is an HMAC of the current period number, valid during that period
// and the next, so every instance sharing the key accepts it.
type Nonces struct {
	key    []byte
	period time.Duration
	now    func() time.Time
}

// NewNonces returns a source; a nil key draws a random one (one instance),
// period defaults to 5 minutes.
func NewNonces(key []byte, period time.Duration, now func() time.Time) (*Nonces, error) {
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
	}
	if period <= 0 {
		period = 5 * time.Minute
	}
	if now == nil {
		now = time.Now
	}
	return &Nonces{key: key, period: period, now: now}, nil
}

func (n *Nonces) at(step int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(step))
	m := hmac.New(sha256.New, n.key)
	m.Write(b[:])
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

func (n *Nonces) step() int64 { return n.now().UnixNano() / int64(n.period) }

// Current is the nonce to send in the DPoP-Nonce header.
func (n *Nonces) Current() string { return n.at(n.step()) }

// Valid accepts the nonce of this period or the previous one.
func (n *Nonces) Valid(nonce string) bool {
	s := n.step()
	return hmac.Equal([]byte(nonce), []byte(n.at(s))) || hmac.Equal([]byte(nonce), []byte(n.at(s-1)))
}

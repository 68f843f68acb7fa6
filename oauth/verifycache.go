package oauth

import (
	"crypto/sha256"
	"maps"
	"sync"
	"time"

	"github.com/ory/fosite/token/jwt"
)

// verifiedCache remembers JWT access tokens whose signature verified, so
// that introspecting the same token again — what a resource server does
// on every request it serves with it — skips the ES256 verification, the
// largest item of a JWT introspection profile (28% of the server's CPU).
// Only the signature check and the parsing are skipped: the claims are
// still validated against the clock on every lookup, the signing key must
// still be published, and revocation (grant, client, jti denylist) is
// always read from the store, never cached.
//
// Entries are keyed by the SHA-256 of the token and live until its exp;
// past max entries a random one is dropped per insert (Go's map order),
// which is as good as LRU for tokens that are all equally likely to come
// back and costs nothing to maintain.
// verifiedCacheMax bounds the cache: ~1 KiB per entry, so at most a few MiB.
const verifiedCacheMax = 4096

type verifiedCache struct {
	max int
	now func() time.Time

	mu sync.RWMutex
	m  map[[sha256.Size]byte]verifiedToken
}

type verifiedToken struct {
	header map[string]any
	claims jwt.MapClaims
	kid    string
	exp    time.Time
}

func newVerifiedCache(max int, now func() time.Time) *verifiedCache {
	if max <= 0 {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	return &verifiedCache{max: max, now: now, m: make(map[[sha256.Size]byte]verifiedToken, max)}
}

// get returns a copy of the verified token, or ok=false.
func (c *verifiedCache) get(token string) (verifiedToken, bool) {
	if c == nil {
		return verifiedToken{}, false
	}
	k := sha256.Sum256([]byte(token))
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if !ok {
		return verifiedToken{}, false
	}
	if !c.now().Before(v.exp) {
		c.mu.Lock()
		delete(c.m, k)
		c.mu.Unlock()
		return verifiedToken{}, false
	}
	// Callers may change what they get; the cached maps stay as verified.
	v.header, v.claims = maps.Clone(v.header), maps.Clone(v.claims)
	return v, true
}

// put remembers a token whose signature verified with key kid.
func (c *verifiedCache) put(token string, t *jwt.Token, kid string) {
	if c == nil || t == nil {
		return
	}
	exp, ok := numericDate(t.Claims["exp"])
	if !ok || !c.now().Before(exp) {
		return // nothing to gain, and no bound on how long to keep it
	}
	k := sha256.Sum256([]byte(token))
	v := verifiedToken{header: maps.Clone(t.Header), claims: maps.Clone(t.Claims), kid: kid, exp: exp}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, seen := c.m[k]; !seen && len(c.m) >= c.max {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[k] = v
}

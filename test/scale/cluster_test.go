package scale_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/config"
	"github.com/sesameauth/sesame/internal/keys"
	"github.com/sesameauth/sesame/internal/server"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
)

// propagation is how fast a change on one instance must be seen on all.
const propagation = time.Second

// cluster starts n instances over one fresh Postgres database, all with the
// issuer of the first, as behind one load balancer.
func cluster(t *testing.T, n int) []*instance {
	t.Helper()
	dbURL := pgtest.URL(t)
	lns := make([]net.Listener, n)
	for i := range lns {
		lns[i] = listen(t)
	}
	issuer := "http://" + lns[0].Addr().String()
	out := make([]*instance, n)
	// The first creates the schema and the signing keys; the others then
	// start together, as a scaled-out deployment does.
	out[0] = start(t, clusterConfig(dbURL, issuer), lns[0])
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := 1; i < n; i++ {
		wg.Go(func() {
			in := start(t, clusterConfig(dbURL, issuer), lns[i])
			mu.Lock()
			out[i] = in
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// clusterConfig is baseConfig with a revocation cache that only a
// notification can invalidate within the test.
func clusterConfig(dbURL, issuer string) config.Config {
	cfg := baseConfig(dbURL, issuer)
	cfg.RevocationCacheTTL = time.Minute
	return cfg
}

func TestThreeInstancesOnePostgres(t *testing.T) {
	nodes := cluster(t, 3)
	for _, n := range nodes {
		// The introspections below warm every instance's revocation cache
		// before the revocation; with its TTL far past the 1 s bound, only
		// the backend's NOTIFY of the revocation can make the others see it.
		if n.srv.Config.RevocationCacheTTL <= propagation {
			t.Fatalf("revocation cache TTL %s: the test would not prove notification", n.srv.Config.RevocationCacheTTL)
		}
	}
	a := nodes[0].srv.App
	// A resource server allowed to introspect every client's tokens.
	rs := newClient(t, a, "opaque", "sesame:introspect")

	for _, format := range []string{"jwt", "opaque"} {
		t.Run("token issued on one introspects on the others, revocation seen within 1s/"+format, func(t *testing.T) {
			c := newClient(t, a, format, "read", "write")
			tok := issue(t, nodes[0].url, c, "read")
			for i, n := range nodes[1:] {
				if !active(t, n.url, rs, tok) {
					t.Fatalf("instance %d: token from instance 0 is not active", i+1)
				}
			}
			st, body, err := postForm(httpClient, nodes[0].url, "/oauth2/revoke", c, url.Values{"token": {tok}})
			if err != nil || st != http.StatusOK {
				t.Fatalf("revoke: %d %v %v", st, body, err)
			}
			for i, n := range nodes[1:] {
				took, ok := within(propagation, func() bool { return !active(t, n.url, rs, tok) })
				if !ok {
					t.Errorf("instance %d still answers active %s after the revocation", i+1, took)
				}
			}
		})
	}

	t.Run("key rotation appears in every JWKS within 1s and signs new tokens", func(t *testing.T) {
		// Rotate as `sesame keys rotate` does: through the server's own
		// key manager code over instance 0's store.
		ctx := context.Background()
		core, err := server.NewCore(ctx, nodes[0].srv.Config, nodes[0].srv.Store, nodes[0].srv.Ring, quietLogger(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		info, err := core.Keys.Rotate(ctx, keys.ES256)
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range nodes {
			took, ok := within(propagation, func() bool { return slices.Contains(jwksKIDs(t, n.url), info.KID) })
			if !ok {
				t.Errorf("instance %d: new key %s not in its JWKS after %s", i, info.KID, took)
			}
		}
		// Every instance now signs ES256 access tokens with the new key.
		c := newClient(t, a, "jwt", "read")
		for i, n := range nodes {
			if kid := jwtKID(t, issue(t, n.url, c, "read")); kid != info.KID {
				t.Errorf("instance %d signs with %s, want the new key %s", i, kid, info.KID)
			}
		}
	})

	t.Run("each instance exports its Postgres pool statistics", func(t *testing.T) {
		for i, n := range nodes {
			if st, out := scrapeMetrics(t, n.url); st != http.StatusOK || !strings.Contains(out, "sesame_db_pool_max_conns ") {
				t.Errorf("instance %d: /metrics %d without pool statistics", i, st)
			}
		}
	})

	t.Run("client update is seen everywhere within 1s", func(t *testing.T) {
		c := newClient(t, a, "jwt", "read", "write")
		for _, n := range nodes {
			issue(t, n.url, c, "write")
		}
		ctx := context.Background()
		scopes := []string{"read"}
		if _, _, err := a.UpdateClient(ctx, "test", c.id, app.ClientPatch{Scopes: &scopes}); err != nil {
			t.Fatal(err)
		}
		// Instances cache clients; the write is announced over
		// LISTEN/NOTIFY and every cache drops the client.
		for i, n := range nodes {
			var st int
			var body map[string]any
			took, ok := within(propagation, func() bool {
				st, body, _ = postForm(httpClient, n.url, "/oauth2/token", c, url.Values{"grant_type": {"client_credentials"}, "scope": {"write"}})
				return st == http.StatusBadRequest && body["error"] == "invalid_scope"
			})
			if !ok {
				t.Errorf("instance %d still grants the removed scope after %s: %d %v", i, took, st, body)
			}
		}
		_, newSecret, err := a.RotateClientSecret(ctx, "test", c.id, false)
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range nodes {
			var st int
			took, ok := within(propagation, func() bool {
				st, _, _ = postForm(httpClient, n.url, "/oauth2/token", c, url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}})
				return st == http.StatusUnauthorized
			})
			if !ok {
				t.Errorf("instance %d still accepts the rotated-out secret after %s: %d", i, took, st)
			}
			issue(t, n.url, client{id: c.id, secret: newSecret}, "read")
		}
	})
}

func jwksKIDs(t *testing.T, base string) []string {
	t.Helper()
	resp, err := httpClient.Get(base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var set struct {
		Keys []struct {
			KID string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatalf("JWKS %q: %v", b, err)
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KID)
	}
	return out
}

func jwtKID(t *testing.T, tok string) string {
	t.Helper()
	head, _, ok := strings.Cut(tok, ".")
	if !ok {
		t.Fatalf("not a JWT: %.20s…", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		KID string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(fmt.Errorf("JWT header: %w", err))
	}
	return h.KID
}

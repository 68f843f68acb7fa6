package oauth

import (
	"context"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/keys"
	"github.com/sesameauth/sesame/storage"
)

func TestKeyRotation(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, func(_ *Config, o *keys.Options) { o.RetainAfterRetire = time.Hour })
		ctx := context.Background()
		c, sec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}})
		old := e.clientCredentials(c.ID, sec, nil)
		mustToken(t, old)
		oldHdr, _ := e.verifyJWT(old.str("access_token"))

		info, err := e.keys.Rotate(ctx, keys.ES256)
		if err != nil {
			t.Fatal(err)
		}
		if info.KID == oldHdr.KeyID {
			t.Fatal("rotation kept the kid")
		}
		set := e.fetchJWKS()
		if len(set.Key(oldHdr.KeyID)) != 1 || len(set.Key(info.KID)) != 1 {
			t.Fatalf("JWKS after rotation lacks the old or the new key: %d keys", len(set.Keys))
		}
		next := e.clientCredentials(c.ID, sec, nil)
		mustToken(t, next)
		if h, _ := e.verifyJWT(next.str("access_token")); h.KeyID != info.KID {
			t.Fatalf("new token signed by %s, want the new key %s", h.KeyID, info.KID)
		}
		if !e.active(old.str("access_token"), c.ID, sec) {
			t.Fatal("a token signed by the retired key no longer introspects")
		}

		// Past RetainAfterRetire the old key leaves the JWKS and its
		// tokens stop verifying.
		e.clock.Advance(2 * time.Hour)
		if err := e.keys.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		set = e.fetchJWKS()
		if len(set.Key(oldHdr.KeyID)) != 0 || len(set.Key(info.KID)) != 1 {
			t.Fatalf("JWKS after retirement: %d keys", len(set.Keys))
		}
		if e.active(old.str("access_token"), c.ID, sec) {
			t.Fatal("a token of a removed key is still active")
		}
	})
}

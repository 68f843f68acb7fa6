package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

func mustUnavailable(t *testing.T, r response) {
	t.Helper()
	if r.status < 500 {
		t.Fatalf("store failure answered %d: %s", r.status, r.raw)
	}
	if code := r.str("error"); code != "temporarily_unavailable" && code != "server_error" {
		t.Fatalf("store failure answered error %q: %s", code, r.raw)
	}
	if strings.Contains(r.raw, "access_token") {
		t.Fatalf("store failure response carries a token: %s", r.raw)
	}
}

func TestStoreDown(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		c, sec, cfg := e.codeClient(func(c *storage.Client) { c.GrantTypes = append(c.GrantTypes, "client_credentials", "password") })
		e.createUser("alice", "pw-alice-1", false)
		tok := e.codeTokens(cfg, "offline_access api")

		opq, opqSec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}, AccessTokenFormat: FormatOpaque})
		jwtc, jwtSec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}, AccessTokenFormat: FormatJWT})
		mustToken(t, e.clientCredentials(jwtc.ID, jwtSec, nil)) // caches the client

		e.breakDB()
		// An opaque token is its row: not stored, not handed out.
		mustUnavailable(t, e.clientCredentials(opq.ID, opqSec, nil))
		// A client_credentials JWT needs no write at all: while its client
		// is in the cache it is still issued (and verifiable from the JWKS;
		// introspection needs the store and fails). Past the cache's TTL
		// the client cannot be read and the request fails like the rest.
		mustToken(t, e.clientCredentials(jwtc.ID, jwtSec, nil))
		e.clock.Advance(defaultClientCacheTTL + time.Second)
		mustUnavailable(t, e.clientCredentials(jwtc.ID, jwtSec, nil))
		mustUnavailable(t, e.refresh(c.ID, sec, tok.RefreshToken))
		mustUnavailable(t, e.post(PathToken, url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"pw-alice-1"}}, c.ID, sec))
		mustUnavailable(t, e.post(PathToken, url.Values{"grant_type": {"authorization_code"}, "code": {"sesame_ac_x.y"}, "redirect_uri": {cfg.RedirectURL}}, c.ID, sec))
		mustUnavailable(t, e.post(PathIntrospect, url.Values{"token": {tok.AccessToken}}, c.ID, sec))
		mustUnavailable(t, e.post(PathRevoke, url.Values{"token": {tok.RefreshToken}}, c.ID, sec))
		if _, _, err := e.h.IssuePersonalToken(context.Background(), "u", c.ID, nil, time.Hour); err == nil {
			t.Fatal("IssuePersonalToken succeeded with the store down")
		}
		if err := e.h.RevokeToken(context.Background(), tok.RefreshToken); err == nil || errors.Is(err, ErrUnknownToken) {
			t.Fatalf("RevokeToken with the store down: %v", err)
		}
	})
}

// flakyStore fails chosen operations with an infrastructure error once
// armed, leaving the rest of the store working.
type flakyStore struct {
	storage.Store
	armed     atomic.Bool
	failToken bool // GetToken of refresh tokens
	failGrant bool // RevokeGrant
	failNonce bool // NonceExists
}

var errDown = errors.New("connection reset by peer")

func (f *flakyStore) GetToken(ctx context.Context, k storage.TokenKind, s string) (storage.TokenRecord, error) {
	if f.armed.Load() && f.failToken && k == storage.KindRefreshToken {
		return storage.TokenRecord{}, errDown
	}
	return f.Store.GetToken(ctx, k, s)
}

func (f *flakyStore) RevokeGrant(ctx context.Context, id, reason string, at time.Time) error {
	if f.armed.Load() && f.failGrant {
		return errDown
	}
	return f.Store.RevokeGrant(ctx, id, reason, at)
}

func (f *flakyStore) NonceExists(ctx context.Context, ns, v string, now time.Time) (bool, error) {
	if f.armed.Load() && f.failNonce {
		return false, errDown
	}
	return f.Store.NonceExists(ctx, ns, v, now)
}

func TestPartialStoreFailures(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store, breakIt := b.open(t)
		fs := &flakyStore{Store: store}
		e := newEnvOn(t, fs, breakIt)
		c, sec, cfg := e.codeClient(nil)
		tok := e.codeTokens(cfg, "offline_access api")

		t.Run("refresh lookup fails: 5xx, never invalid_grant", func(t *testing.T) {
			fs.failToken = true
			fs.armed.Store(true)
			defer fs.armed.Store(false)
			mustUnavailable(t, e.refresh(c.ID, sec, tok.RefreshToken))
			fs.armed.Store(false)
			mustToken(t, e.refresh(c.ID, sec, tok.RefreshToken))
		})
		t.Run("revocation not stored is never 200", func(t *testing.T) {
			tok := e.codeTokens(cfg, "offline_access api")
			fs.failToken, fs.failGrant = false, true
			fs.armed.Store(true)
			r := e.post(PathRevoke, url.Values{"token": {tok.RefreshToken}}, c.ID, sec)
			fs.armed.Store(false)
			if r.status == http.StatusOK {
				t.Fatal("a revocation that failed to store answered 200")
			}
			mustUnavailable(t, r)
			if !e.active(tok.RefreshToken, c.ID, sec) {
				t.Fatal("a failed revocation half-revoked the grant")
			}
		})
		t.Run("denylist check fails: introspection is 5xx, not inactive", func(t *testing.T) {
			fs.failGrant, fs.failNonce = false, true
			fs.armed.Store(true)
			r := e.post(PathIntrospect, url.Values{"token": {tok.AccessToken}}, c.ID, sec)
			fs.armed.Store(false)
			mustUnavailable(t, r)
		})
	})
}

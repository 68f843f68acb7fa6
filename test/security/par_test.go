package security

import (
	"bytes"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/config"
	"github.com/sesameauth/sesame/internal/server"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
)

// push sends a's parameters to /oauth2/par as client id/sec (Basic; a
// public client sends client_id in the body).
func (s *srv) push(a *authz, id, sec string, extra ...string) resp {
	s.t.Helper()
	f := a.query()
	for i := 0; i+1 < len(extra); i += 2 {
		f.Set(extra[i], extra[i+1])
	}
	if sec == "" {
		return s.post("/oauth2/par", f, "", "")
	}
	f.Del("client_id")
	return s.post("/oauth2/par", f, id, sec)
}

// authorizeWith runs a whole browser authorization from path (sign-in,
// consent) and returns the response that leaves the issuer.
func (b *browser) authorizeWith(path, username, pw string) resp {
	t := b.s.t
	t.Helper()
	r := b.get(path)
	u := location(t, r)
	if u.Path == "/login" {
		r = b.get(u.String())
		action, csrf := formOf(t, r.body)
		r = b.post(action, url.Values{"username": {username}, "password": {pw}, "csrf_token": {csrf}})
	}
	r = b.follow(r)
	if r.status == http.StatusOK && bytes.Contains(r.body, []byte(`name="decision"`)) {
		action, csrf := formOf(t, r.body)
		r = b.follow(b.post(action, url.Values{"decision": {"allow"}, "csrf_token": {csrf}}))
	}
	return r
}

func parPath(clientID, requestURI string) string {
	return "/oauth2/authorize?" + url.Values{"client_id": {clientID}, "request_uri": {requestURI}}.Encode()
}

// TestPushedAuthorizationRequests (issue 18, RFC 9126) on both stores:
// push, authorize by request_uri (sign-in and consent in between), tokens;
// the request_uri is single use, expires, belongs to its client; only the
// pushed parameters count; a client (or the server) may require PAR.
func TestPushedAuthorizationRequests(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			cfg := baseConfig(t)
			if backend == "postgres" {
				cfg.DatabaseURL = pgtest.URL(t)
			} else {
				cfg.DatabaseURL = "sqlite:" + filepath.Join(t.TempDir(), "sesame.db")
			}
			clk := &clock{t: time.Now()}
			s := start(t, cfg, server.WithClock(clk.Now))
			s.user("alice", "correct horse battery")
			web, sec := s.webClient("web", false)
			other, otherSec := s.webClient("other", false)

			disc := s.get("/.well-known/openid-configuration")
			if disc.str("pushed_authorization_request_endpoint") != s.issuer+"/oauth2/par" || disc.json["require_pushed_authorization_requests"] != false {
				t.Fatalf("discovery: %s", disc.body)
			}

			a := newAuthz(t, web, "openid profile")
			p := s.push(a, web.ID, sec)
			ru := p.str("request_uri")
			if p.status != http.StatusCreated || !strings.HasPrefix(ru, "urn:ietf:params:oauth:request_uri:") || p.json["expires_in"] != float64(90) {
				t.Fatalf("push: %d %s", p.status, p.body)
			}
			if p.header.Get("Cache-Control") != "no-store" {
				t.Errorf("push answer cacheable: %v", p.header)
			}
			b := s.browser()
			// A front-channel parameter beside request_uri is ignored
			// (RFC 9126 §4): the pushed scope is what is granted.
			r := b.authorizeWith(parPath(web.ID, ru)+"&scope=openid+profile+email+offline_access", "alice", "correct horse battery")
			u := location(t, r)
			if got := u.Scheme + "://" + u.Host + u.Path; got != a.redirect || u.Query().Get("state") != a.state || u.Query().Get("code") == "" {
				t.Fatalf("authorization response %s", u)
			}
			tok := s.exchange(a, u.Query().Get("code"), web.ID, sec)
			wantTokens(t, tok)
			if tok.str("scope") != "openid profile" || tok.str("refresh_token") != "" {
				t.Fatalf("tokens of the pushed request: %s", tok.body)
			}

			t.Run("a request_uri is used once", func(t *testing.T) {
				r := b.get(parPath(web.ID, ru))
				if r.status != http.StatusBadRequest || bytes.Contains([]byte(r.header.Get("Location")), []byte("code=")) {
					t.Fatalf("second use: %d %s", r.status, r.header.Get("Location"))
				}
			})
			t.Run("concurrent uses of one request_uri: one wins", func(t *testing.T) {
				ru := s.push(newAuthz(t, web, "openid"), web.ID, sec).str("request_uri")
				res := make([]resp, 6)
				var wg sync.WaitGroup
				for i := range res {
					wg.Go(func() { res[i] = s.browser().get(parPath(web.ID, ru)) })
				}
				wg.Wait()
				wins := 0
				for _, r := range res {
					switch {
					case r.status == http.StatusSeeOther && strings.HasPrefix(r.header.Get("Location"), "/login?flow="):
						wins++
					case r.status != http.StatusBadRequest:
						t.Errorf("loser answered %d %s", r.status, r.header.Get("Location"))
					}
				}
				if wins != 1 {
					t.Fatalf("%d of 6 concurrent uses of one request_uri went on", wins)
				}
			})
			t.Run("a request_uri expires", func(t *testing.T) {
				ru := s.push(newAuthz(t, web, "openid"), web.ID, sec).str("request_uri")
				clk.Advance(91 * time.Second)
				if r := b.get(parPath(web.ID, ru)); r.status != http.StatusBadRequest {
					t.Fatalf("expired request_uri: %d %s", r.status, r.header.Get("Location"))
				}
				// Back to real time: sign-ins below would otherwise have an
				// auth_time in the future of fosite's own clock.
				clk.Advance(-91 * time.Second)
			})
			t.Run("another client cannot use it", func(t *testing.T) {
				ru := s.push(newAuthz(t, web, "openid"), web.ID, sec).str("request_uri")
				r := b.get(parPath(other.ID, ru))
				if loc := r.header.Get("Location"); strings.Contains(loc, "code=") || (r.status != http.StatusBadRequest && !strings.Contains(loc, "error=")) {
					t.Fatalf("request_uri of another client: %d %s", r.status, loc)
				}
				if r := b.get(parPath(web.ID, ru)); r.status != http.StatusBadRequest {
					t.Fatalf("after a wrong client tried it, the request_uri still works: %d", r.status)
				}
			})
			t.Run("bad pushes", func(t *testing.T) {
				a := newAuthz(t, web, "openid")
				wantError(t, s.push(a, "", ""), http.StatusUnauthorized, "invalid_client")
				wantError(t, s.push(a, web.ID, otherSec), http.StatusUnauthorized, "invalid_client")
				wantError(t, s.push(a, web.ID, sec, "request_uri", "urn:ietf:params:oauth:request_uri:x"), http.StatusBadRequest, "invalid_request")
				wantError(t, s.push(a, web.ID, sec, "redirect_uri", "https://evil.example.com/cb"), http.StatusBadRequest, "invalid_request")
				wantError(t, s.push(a, web.ID, sec, "scope", "openid sesame:admin"), http.StatusBadRequest, "invalid_scope")
			})
			t.Run("a client may require PAR", func(t *testing.T) {
				strict, strictSec := s.client(app.ClientSpec{Name: "strict", RedirectURIs: []string{"https://strict.example.com/cb"},
					GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid"}, RequirePushedAuthorizationRequests: true})
				a := newAuthz(t, strict, "openid")
				r := s.browser().get(a.path())
				u := location(t, r)
				if u.Host != "strict.example.com" || u.Query().Get("error") != "invalid_request" || u.Query().Get("state") != a.state {
					t.Fatalf("authorize without PAR for a client that requires it: %s", u)
				}
				ru := s.push(a, strict.ID, strictSec).str("request_uri")
				r = s.browser().authorizeWith(parPath(strict.ID, ru), "alice", "correct horse battery")
				if u := location(t, r); u.Query().Get("code") == "" {
					t.Fatalf("authorize with PAR for a client that requires it: %s", u)
				}
				// Others are not affected.
				if u := location(t, s.browser().get(newAuthz(t, web, "openid").path())); u.Path != "/login" {
					t.Fatalf("a client without the requirement: %s", u)
				}
			})
		})
	}
}

// TestPushedAuthorizationRequestsRequiredForEveryone:
// SESAME_REQUIRE_PUSHED_AUTHORIZATION_REQUESTS.
func TestPushedAuthorizationRequestsRequiredForEveryone(t *testing.T) {
	s := newServer(t, func(c *config.Config) { c.RequirePushedAuthorizationRequests = true })
	s.user("alice", "correct horse battery")
	web, sec := s.webClient("web", false)
	if d := s.get("/.well-known/oauth-authorization-server"); d.json["require_pushed_authorization_requests"] != true {
		t.Fatalf("discovery: %s", d.body)
	}
	a := newAuthz(t, web, "openid")
	if u := location(t, s.browser().get(a.path())); u.Query().Get("error") != "invalid_request" {
		t.Fatalf("authorize without PAR: %s", u)
	}
	ru := s.push(a, web.ID, sec).str("request_uri")
	r := s.browser().authorizeWith(parPath(web.ID, ru), "alice", "correct horse battery")
	u := location(t, r)
	wantTokens(t, s.exchange(a, u.Query().Get("code"), web.ID, sec))
}

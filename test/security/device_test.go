package security

import (
	"bytes"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/server"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
)

// poller is what a CLI or a TV does (RFC 8628 §3.1, §3.4).
type poller struct {
	s        *srv
	clientID string
}

func (p poller) start(t *testing.T, scope string) (deviceCode, userCode, complete string) {
	t.Helper()
	r := p.s.post("/oauth2/device_authorization", url.Values{"client_id": {p.clientID}, "scope": {scope}}, "", "")
	if r.status != http.StatusOK || r.str("verification_uri") != p.s.issuer+"/device" {
		t.Fatalf("device authorization: %d %s", r.status, r.body)
	}
	return r.str("device_code"), r.str("user_code"), r.str("verification_uri_complete")
}

func (p poller) poll(deviceCode string) resp {
	return p.s.token(url.Values{"grant_type": {app.DeviceGrantType}, "device_code": {deviceCode}, "client_id": {p.clientID}}, "", "")
}

// enterCode submits a user code on the /device page and returns the answer.
func (b *browser) enterCode(code string) resp {
	t := b.s.t
	t.Helper()
	r := b.get("/device")
	_, csrf := formOf(t, r.body)
	return b.post("/device", url.Values{"user_code": {code}, "csrf_token": {csrf}})
}

// decideDevice takes the consent step shown for code and decides.
func (b *browser) decideDevice(code, decision string) resp {
	t := b.s.t
	t.Helper()
	r := b.enterCode(code)
	if r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`name="decision"`)) || !bytes.Contains(r.body, []byte(code)) {
		t.Fatalf("consent step for %s: %d\n%s", code, r.status, r.body)
	}
	_, csrf := formOf(t, r.body)
	return b.post("/device", url.Values{"user_code": {code}, "decision": {decision}, "csrf_token": {csrf}})
}

// otherCode is a well-formed user code different from code.
func otherCode(t *testing.T, code string) string {
	for {
		c, err := app.NewUserCode()
		if err != nil {
			t.Fatal(err)
		}
		if c != code {
			return c
		}
	}
}

// TestDeviceFlowEndToEnd (issue 18): a CLI-like poller and a person at
// the /device page with a cookie-jar browser, over real HTTP, on both
// stores: wrong code, sign-in, consent, polling too fast, tokens that work
// at introspection, userinfo and refresh, a denied request, an expired
// one, and the guard on guessing codes.
func TestDeviceFlowEndToEnd(t *testing.T) {
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
			tv, _ := s.client(app.ClientSpec{Name: "Living-room TV", Public: true,
				GrantTypes: []string{app.DeviceGrantType, "refresh_token"}, Scopes: []string{"openid", "profile", "offline_access"}})
			rs, rsSecret := s.client(app.ClientSpec{Name: "api", GrantTypes: []string{"client_credentials"}, Scopes: []string{"sesame:introspect"}})
			p := poller{s: s, clientID: tv.ID}
			b := s.browser()

			dc, uc, complete := p.start(t, "openid profile offline_access")
			wantError(t, p.poll(dc), http.StatusBadRequest, "authorization_pending")
			wantError(t, p.poll(dc), http.StatusBadRequest, "slow_down") // at once: too fast

			// verification_uri_complete fills the code in, nothing more.
			page := b.get(strings.TrimPrefix(complete, s.issuer))
			if page.status != http.StatusOK || !bytes.Contains(page.body, []byte(`value="`+uc+`"`)) {
				t.Fatalf("verification_uri_complete: %d\n%s", page.status, page.body)
			}
			if got := page.header.Get("Content-Security-Policy"); !strings.Contains(got, "default-src 'none'") {
				t.Fatalf("device page CSP %q", got)
			}
			wrong := b.enterCode(otherCode(t, uc))
			if wrong.status != http.StatusBadRequest || !bytes.Contains(wrong.body, []byte(`id="device-error"`)) {
				t.Fatalf("wrong user code: %d\n%s", wrong.status, wrong.body)
			}
			// Not signed in: the code leads to the login page and back.
			r := b.enterCode(strings.ToLower(uc))
			u := location(t, r)
			if u.Path != "/login" || u.Query().Get("next") != "/device?user_code="+uc {
				t.Fatalf("unsigned code entry went to %s", u)
			}
			r = b.get(u.String())
			action, csrf := formOf(t, r.body)
			r = b.post(action, url.Values{"username": {"alice"}, "password": {"correct horse battery"}, "csrf_token": {csrf}})
			if back := location(t, r); back.String() != "/device?user_code="+uc {
				t.Fatalf("after sign-in went to %s", back)
			}
			wantError(t, p.poll(dc), http.StatusBadRequest, "slow_down") // still waiting, still too fast
			done := b.decideDevice(uc, "allow")
			if done.status != http.StatusOK || !bytes.Contains(done.body, []byte(`id="device-done"`)) {
				t.Fatalf("allow: %d\n%s", done.status, done.body)
			}

			tok := p.poll(dc)
			wantTokens(t, tok)
			if tok.str("refresh_token") == "" || tok.str("id_token") == "" {
				t.Fatalf("device tokens: %s", tok.body)
			}
			if !s.active(tok.str("access_token"), rs.ID, rsSecret) {
				t.Fatal("device access token is not active at introspection")
			}
			if ui := s.userinfo(tok.str("access_token")); ui.status != http.StatusOK || ui.str("preferred_username") != "alice" {
				t.Fatalf("userinfo: %d %s", ui.status, ui.body)
			}
			wantError(t, p.poll(dc), http.StatusBadRequest, "invalid_grant") // redeemed once
			ref := s.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.str("refresh_token")}, "client_id": {tv.ID}}, "", "")
			wantTokens(t, ref)
			if !s.active(ref.str("access_token"), rs.ID, rsSecret) {
				t.Fatal("refreshed access token is not active")
			}
			// The same code cannot be approved again.
			if again := b.enterCode(uc); again.status != http.StatusBadRequest {
				t.Fatalf("used user code accepted again: %d", again.status)
			}

			t.Run("denied", func(t *testing.T) {
				dc, uc, _ := p.start(t, "openid")
				if r := b.decideDevice(uc, "deny"); r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`id="device-done"`)) {
					t.Fatalf("deny: %d\n%s", r.status, r.body)
				}
				wantError(t, p.poll(dc), http.StatusBadRequest, "access_denied")
			})
			t.Run("expired", func(t *testing.T) {
				dc, uc, _ := p.start(t, "openid")
				clk.Advance(10*time.Minute + time.Second)
				wantError(t, p.poll(dc), http.StatusBadRequest, "expired_token")
				if r := b.enterCode(uc); r.status != http.StatusBadRequest {
					t.Fatalf("expired user code: %d", r.status)
				}
			})
			t.Run("guessing codes is bounded", func(t *testing.T) {
				_, uc, _ := p.start(t, "openid")
				g := s.browser()
				locked := -1
				for i := range 8 {
					if r := g.enterCode(otherCode(t, uc)); r.status == http.StatusTooManyRequests {
						if r.header.Get("Retry-After") == "" {
							t.Fatal("429 without Retry-After")
						}
						locked = i
						break
					}
				}
				// Two wrong codes were already typed from this address.
				if locked < 0 || locked > 4 {
					t.Fatalf("locked after %d more wrong codes, want at most 5 in all", locked)
				}
				if r := g.enterCode(uc); r.status != http.StatusTooManyRequests {
					t.Fatalf("the right code during the lock: %d, want 429 (a lock reveals nothing)", r.status)
				}
			})
		})
	}
}

package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
)

// deviceEnv is a server with a public device client, a user and a
// resource server allowed to introspect.
type deviceEnv struct {
	*env
	client       storage.Client
	userID       string
	rsID, rsPass string
	devices      *app.Devices
}

func newDeviceEnv(t *testing.T, b backend) *deviceEnv {
	e := newEnv(t, b)
	c, _ := e.createClient(storage.Client{Name: "TV", Public: true,
		GrantTypes: []string{app.DeviceGrantType, "refresh_token"}, Scopes: []string{"openid", "profile", "offline_access"}})
	rs, rsPass := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}, Scopes: []string{ScopeIntrospect}})
	return &deviceEnv{env: e, client: c, userID: e.createUser("alice", "correct horse", false), rsID: rs.ID, rsPass: rsPass,
		devices: app.NewDevices(e.store, e.ring, nil, nil, e.clock.Now)}
}

func (d *deviceEnv) start(scope string) response {
	d.t.Helper()
	r := d.post(PathDeviceAuthorization, url.Values{"client_id": {d.client.ID}, "scope": {scope}}, "", "")
	if r.status != http.StatusOK {
		d.t.Fatalf("device authorization: %d %s", r.status, r.raw)
	}
	return r
}

func (d *deviceEnv) poll(deviceCode string) response {
	d.t.Helper()
	return d.post(PathToken, url.Values{"grant_type": {app.DeviceGrantType}, "device_code": {deviceCode},
		"client_id": {d.client.ID}}, "", "")
}

func (d *deviceEnv) decide(userCode string, allow bool) {
	d.t.Helper()
	if err := d.devices.Decide(context.Background(), userCode, d.userID, "", allow, "192.0.2.1", "test"); err != nil {
		d.t.Fatalf("decide: %v", err)
	}
}

var userCodeShape = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

func TestDeviceFlow(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		d := newDeviceEnv(t, b)
		r := d.start("openid offline_access")
		dc, uc := r.str("device_code"), r.str("user_code")
		if !userCodeShape.MatchString(uc) || len(dc) < 40 {
			t.Fatalf("codes: device %q user %q", dc, uc)
		}
		if r.str("verification_uri") != d.srv.URL+"/device" ||
			r.str("verification_uri_complete") != d.srv.URL+"/device?user_code="+url.QueryEscape(uc) ||
			r.body["expires_in"] != float64(600) || r.body["interval"] != float64(5) {
			t.Fatalf("device authorization response: %s", r.raw)
		}
		if r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("device authorization response is cacheable: %v", r.header)
		}
		// Only hashes are stored.
		g, err := d.store.GetDeviceGrant(context.Background(), app.DeviceCodeHash(dc))
		if err != nil {
			t.Fatalf("stored grant: %v", err)
		}
		if strings.Contains(g.DeviceCodeHash+g.UserCodeHash, dc) || strings.Contains(g.UserCodeHash, uc) ||
			strings.Contains(g.UserCodeHash, strings.ReplaceAll(uc, "-", "")) {
			t.Fatal("a code is stored in clear")
		}

		mustError(t, d.poll(dc), "authorization_pending")
		slow := d.poll(dc) // at once: too fast
		mustError(t, slow, "slow_down")
		d.clock.Advance(6 * time.Second) // enough for 5 s, not for the raised 10 s
		mustError(t, d.poll(dc), "slow_down")
		d.clock.Advance(16 * time.Second) // the interval is 15 s now
		mustError(t, d.poll(dc), "authorization_pending")

		d.decide(strings.ToLower(strings.ReplaceAll(uc, "-", " ")), true) // typed loosely
		tok := d.poll(dc)                                                 // approved: answered even if early
		mustToken(t, tok)
		if tok.str("refresh_token") == "" || tok.str("id_token") == "" || tok.str("scope") != "openid offline_access" {
			t.Fatalf("token response: %s", tok.raw)
		}
		at := tok.str("access_token")
		in := d.introspect(at, d.rsID, d.rsPass)
		if in.body["active"] != true || in.str("sub") != d.userID || in.str("client_id") != d.client.ID {
			t.Fatalf("introspection: %s", in.raw)
		}
		// A device code gives tokens once.
		d.clock.Advance(time.Minute)
		mustError(t, d.poll(dc), "invalid_grant")
		// Refresh works like any other grant's.
		ref := d.post(PathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.str("refresh_token")},
			"client_id": {d.client.ID}}, "", "")
		mustToken(t, ref)
		if !d.active(ref.str("access_token"), d.rsID, d.rsPass) {
			t.Fatal("refreshed access token is not active")
		}
		// The decision is audited.
		evs, _, err := d.store.ListAudit(context.Background(), storage.AuditFilter{Type: app.AuditDeviceApproved})
		if err != nil || len(evs) != 1 || evs[0].UserID != d.userID || evs[0].ClientID != d.client.ID {
			t.Fatalf("audit: %v %+v", err, evs)
		}
	})
}

func TestDeviceFlowRefusals(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		d := newDeviceEnv(t, b)
		t.Run("denied", func(t *testing.T) {
			r := d.start("openid")
			d.decide(r.str("user_code"), false)
			mustError(t, d.poll(r.str("device_code")), "access_denied")
			// A second decision loses.
			err := d.devices.Decide(context.Background(), r.str("user_code"), d.userID, "", true, "", "")
			if !errors.Is(err, app.ErrUnknownUserCode) {
				t.Fatalf("second decision: %v", err)
			}
			d.clock.Advance(time.Minute)
			mustError(t, d.poll(r.str("device_code")), "access_denied")
		})
		t.Run("expired", func(t *testing.T) {
			r := d.start("openid")
			d.clock.Advance(10*time.Minute + time.Second)
			mustError(t, d.poll(r.str("device_code")), "expired_token")
			if _, err := d.devices.Find(context.Background(), r.str("user_code"), "192.0.2.1", ""); !errors.Is(err, app.ErrUnknownUserCode) {
				t.Fatalf("expired user code found: %v", err)
			}
		})
		t.Run("unknown device code", func(t *testing.T) {
			mustError(t, d.poll("not-a-device-code"), "invalid_grant")
			r := d.post(PathToken, url.Values{"grant_type": {app.DeviceGrantType}, "client_id": {d.client.ID}}, "", "")
			mustError(t, r, "invalid_request")
		})
		t.Run("another client's device code", func(t *testing.T) {
			r := d.start("openid")
			other, _ := d.createClient(storage.Client{Public: true, GrantTypes: []string{app.DeviceGrantType}})
			res := d.post(PathToken, url.Values{"grant_type": {app.DeviceGrantType}, "device_code": {r.str("device_code")},
				"client_id": {other.ID}}, "", "")
			mustError(t, res, "invalid_grant")
		})
		t.Run("client without the grant", func(t *testing.T) {
			c, _ := d.createClient(storage.Client{Public: true, GrantTypes: []string{"authorization_code"},
				RedirectURIs: []string{"https://app.example/cb"}})
			r := d.post(PathDeviceAuthorization, url.Values{"client_id": {c.ID}}, "", "")
			mustError(t, r, "unauthorized_client")
			r = d.post(PathToken, url.Values{"grant_type": {app.DeviceGrantType}, "device_code": {"x"}, "client_id": {c.ID}}, "", "")
			mustError(t, r, "unauthorized_client")
		})
		t.Run("scope not allowed, no client, unknown client", func(t *testing.T) {
			r := d.post(PathDeviceAuthorization, url.Values{"client_id": {d.client.ID}, "scope": {"openid sesame:admin"}}, "", "")
			mustError(t, r, "invalid_scope")
			mustError(t, d.post(PathDeviceAuthorization, url.Values{"scope": {"openid"}}, "", ""), "invalid_client")
			mustError(t, d.post(PathDeviceAuthorization, url.Values{"client_id": {"nobody"}}, "", ""), "invalid_client")
		})
		t.Run("concurrent polls of an approved code: one gets tokens", func(t *testing.T) {
			r := d.start("openid offline_access")
			d.decide(r.str("user_code"), true)
			res := make([]response, 6)
			done := make(chan int)
			for i := range res {
				go func() { res[i] = d.poll(r.str("device_code")); done <- i }()
			}
			for range res {
				<-done
			}
			wins := 0
			for _, x := range res {
				if x.status == http.StatusOK {
					wins++
				} else if e := x.str("error"); e != "invalid_grant" && e != "slow_down" {
					t.Errorf("loser got %d %s", x.status, x.raw)
				}
			}
			if wins != 1 {
				t.Fatalf("%d of 6 concurrent polls got tokens", wins)
			}
		})
	})
}

func TestUserCodes(t *testing.T) {
	for range 200 {
		c, err := app.NewUserCode()
		if err != nil || !userCodeShape.MatchString(c) {
			t.Fatalf("user code %q: %v", c, err)
		}
		if n, ok := app.NormalizeUserCode(strings.ToLower(c)); !ok || n != c {
			t.Fatalf("normalize %q: %q %v", c, n, ok)
		}
	}
	for _, bad := range []string{"", "BCDF-GHJ", "BCDF-GHJKL", "BCDA-GHJK", "BCDF-GHJ1", strings.Repeat("B", 100)} {
		if _, ok := app.NormalizeUserCode(bad); ok {
			t.Errorf("%q accepted as a user code", bad)
		}
	}
}

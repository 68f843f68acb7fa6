package security

import (
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/config"
)

// countingTransport counts the requests that reach the browser rate limit
// (authorize, login, consent, account, logout).
type countingTransport struct {
	next    http.RoundTripper
	limited atomic.Int64
	refused atomic.Int64
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	p := req.URL.Path
	if p == "/oauth2/authorize" || p == "/login" || p == "/consent" || strings.HasPrefix(p, "/account") || p == "/oauth2/logout" {
		c.limited.Add(1)
	}
	res, err := c.next.RoundTrip(req)
	if err == nil && res.StatusCode == http.StatusTooManyRequests {
		c.refused.Add(1)
	}
	return res, err
}

// TestLoginsPerMinuteFromOneAddress (issue 13 item 21): an office behind
// one NAT address shares the per-address browser limit. One complete
// sign-in (authorize, login page, login post, authorize, consent page,
// consent post, authorize) is 7 limited requests, so a limit of r
// requests/s with burst b lets (b + 60·r)/7 sign-ins through in the first
// minute and 60·r/7 a minute after that. The test signs in as fast as it
// can from one address for a few seconds with the default limits and
// checks the observed count against that figure. (~8 s per backend.)
func TestLoginsPerMinuteFromOneAddress(t *testing.T) {
	const window = 4 * time.Second
	backends(t, func(c *config.Config) { c.RateLimitEnabled = true }, func(t *testing.T, s *srv) {
		def := config.Default()
		rps, burst := def.RateLimitBrowserRPS, def.RateLimitBrowserBurst
		s.user("alice", "correct horse battery")
		c, _ := s.webClient("office", false)
		from := s.as("127.0.0.6")
		ct := &countingTransport{next: from.hc.Transport}
		from.hc.Transport = ct
		logins := 0
		start := time.Now()
		for time.Since(start) < window {
			b := from.browser()
			az := newAuthz(t, c, "openid")
			if !signIn(b, az, "alice", "correct horse battery") {
				t.Fatal("sign-in did not end with a code")
			}
			logins++
		}
		elapsed := time.Since(start).Seconds()
		perLogin := 7.0
		expected := (float64(burst) + rps*elapsed) / perLogin
		perMinute := 60 * rps / perLogin
		t.Logf("defaults %.0f req/s burst %d: %d sign-ins in %.1f s (%d limited requests, %d refused); capacity (b+r·t)/7 = %.1f; steady state %.0f sign-ins/min, first minute %.0f",
			rps, burst, logins, elapsed, ct.limited.Load(), ct.refused.Load(), expected, perMinute, (float64(burst)+60*rps)/perLogin)
		if float64(logins) > expected+1 {
			t.Fatalf("%d sign-ins in %.1f s exceed what the limit allows (%.1f): the browser limit is not applied", logins, elapsed, expected)
		}
		if float64(logins) < 0.6*expected {
			t.Fatalf("%d sign-ins in %.1f s, want about %.1f", logins, elapsed, expected)
		}
		if perMinute < 60 {
			t.Fatalf("the default browser limit lets %.0f sign-ins a minute through one address, want at least 60", perMinute)
		}
	})
}

// patient sends a request again after each 429, as a person would press
// reload after the "slow down" page, so no finished step is wasted.
func patient(send func() resp) resp {
	for {
		r := send()
		if r.status != http.StatusTooManyRequests {
			return r
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// signIn is browser.code with patient requests: the whole authorization,
// consent included; it reports whether a code came back.
func signIn(b *browser, a *authz, username, pw string) bool {
	get := func(u string) resp { return patient(func() resp { return b.get(u) }) }
	post := func(u string, f url.Values) resp { return patient(func() resp { return b.post(u, f) }) }
	r := get(a.path())
	r = get(location(b.s.t, r).String())
	action, csrf := formOf(b.s.t, r.body)
	r = post(action, url.Values{"username": {username}, "password": {pw}, "csrf_token": {csrf}})
	r = get(b.abs(location(b.s.t, r).String()))
	if r.status == http.StatusSeeOther || r.status == http.StatusFound {
		r = get(b.abs(location(b.s.t, r).String()))
	}
	if r.status == http.StatusOK && strings.Contains(string(r.body), `name="decision"`) {
		action, csrf := formOf(b.s.t, r.body)
		r = post(action, url.Values{"decision": {"allow"}, "csrf_token": {csrf}})
		r = get(b.abs(location(b.s.t, r).String()))
	}
	if r.status != http.StatusSeeOther && r.status != http.StatusFound {
		return false
	}
	return location(b.s.t, r).Query().Get("code") != ""
}

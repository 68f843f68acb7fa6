package security

import (
	"bytes"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/config"
)

// TestBrowserAttacks: login CSRF (RFC 6749 §10.12, RFC 9700 §4.7), consent
// CSRF, cross-origin form posts, the consent decision, and open redirects
// through logout (RFC 9700 §4.11, OIDC RP-Initiated Logout §3).
func TestBrowserAttacks(t *testing.T) {
	s := newServer(t)
	const pw = "correct horse battery"
	s.user("alice", pw)
	a, _ := s.webClient("a", false)
	withLogout, _ := s.client(app.ClientSpec{Name: "lo", RedirectURIs: []string{"https://lo.example.com/cb"},
		PostLogoutRedirectURIs: []string{"https://lo.example.com/bye"}, GrantTypes: []string{"authorization_code"},
		Scopes: []string{"openid"}, SkipConsent: true})

	// loginPage opens the login page of a fresh authorization request.
	loginPage := func(s *srv, b *browser) (action, csrf string) {
		r := b.get(newAuthz(s.t, a, "openid").path())
		r = b.get(location(s.t, r).String())
		return formOf(s.t, r.body)
	}

	t.Run("RFC6749-10.12 login without csrf_token", func(t *testing.T) {
		s := s.with(t)
		b := s.browser()
		action, _ := loginPage(s, b)
		if r := b.post(action, url.Values{"username": {"alice"}, "password": {pw}}); r.status != http.StatusForbidden {
			t.Fatalf("status %d, want 403", r.status)
		}
	})
	t.Run("RFC6749-10.12 login with another browser's csrf_token", func(t *testing.T) {
		s := s.with(t)
		victim, attacker := s.browser(), s.browser()
		_, attackerCSRF := loginPage(s, attacker)
		action, _ := loginPage(s, victim)
		if r := victim.post(action, url.Values{"username": {"alice"}, "password": {pw}, "csrf_token": {attackerCSRF}}); r.status != http.StatusForbidden {
			t.Fatalf("status %d, want 403", r.status)
		}
	})
	t.Run("RFC9700-4.7 cross-site login form post (Sec-Fetch-Site)", func(t *testing.T) {
		s := s.with(t)
		b := s.browser()
		action, csrf := loginPage(s, b)
		req, _ := http.NewRequest(http.MethodPost, b.abs(action), strings.NewReader(url.Values{"username": {"alice"}, "password": {pw}, "csrf_token": {csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Origin", "https://evil.example.com")
		if r := doWith(t, b.c, req); r.status != http.StatusForbidden {
			t.Fatalf("status %d, want 403", r.status)
		}
	})
	t.Run("RFC9700-4.7 consent without csrf_token", func(t *testing.T) {
		s := s.with(t)
		b := s.browser()
		r := b.follow(b.login(newAuthz(t, a, "openid"), "alice", pw))
		action, _ := formOf(t, r.body)
		if r := b.post(action, url.Values{"decision": {"allow"}}); r.status != http.StatusForbidden {
			t.Fatalf("status %d, want 403", r.status)
		}
	})
	t.Run("RFC6749-4.1.2.1 consent denied answers access_denied", func(t *testing.T) {
		s := s.with(t)
		b := s.browser()
		az := newAuthz(t, a, "openid")
		r := b.follow(b.login(az, "alice", pw))
		action, csrf := formOf(t, r.body)
		u := location(t, b.follow(b.post(action, url.Values{"decision": {"deny"}, "csrf_token": {csrf}})))
		if q := u.Query(); q.Get("error") != "access_denied" || q.Get("code") != "" || q.Get("state") != az.state {
			t.Fatalf("deny answered %s", u)
		}
	})
	t.Run("OIDC-Session-5.1 prompt=none without a session is login_required", func(t *testing.T) {
		s := s.with(t)
		az := newAuthz(t, a, "openid")
		az.extra.Set("prompt", "none")
		u := location(t, s.browser().get(az.path()))
		if u.Query().Get("error") != "login_required" {
			t.Fatalf("prompt=none answered %s", u)
		}
	})
	logoutCases := []struct{ name, query string }{
		{"RFC9700-4.11 logout to an unregistered post_logout_redirect_uri", "post_logout_redirect_uri=" + url.QueryEscape("https://evil.example.com/")},
		{"RFC9700-4.11 logout to a registered URI of another client", "client_id=" + a.ID + "&post_logout_redirect_uri=" + url.QueryEscape("https://lo.example.com/bye")},
		{"RFC9700-4.11 logout to a prefix-extended registered URI", "client_id=" + withLogout.ID + "&post_logout_redirect_uri=" + url.QueryEscape("https://lo.example.com/bye/../../evil")},
		{"RFC9700-4.11 logout to a userinfo@host URI", "client_id=" + withLogout.ID + "&post_logout_redirect_uri=" + url.QueryEscape("https://lo.example.com@evil.example.com/bye")},
	}
	for _, tc := range logoutCases {
		t.Run(tc.name, func(t *testing.T) {
			s := s.with(t)
			r := s.get("/oauth2/logout?" + tc.query)
			if r.status != http.StatusBadRequest || r.header.Get("Location") != "" {
				t.Fatalf("got %d Location=%q, want 400 without redirect", r.status, r.header.Get("Location"))
			}
		})
	}
}

// TestLoginTiming: an unknown username and a wrong password take about the
// same time (RFC 6819 §4.4.3.6 / CWE-208: no account enumeration through
// timing). Each is timed several times; the medians must be within a
// factor of 2 of each other, which the dummy argon2id verification of
// unknown users guarantees and skipping it would break (argon2id is far
// slower than a missing-row lookup).
func TestLoginTiming(t *testing.T) {
	s := newServer(t, func(c *config.Config) { c.BruteForceEnabled = false })
	s.user("alice", "correct horse battery")
	c, sec := s.client(app.ClientSpec{Name: "mobile", GrantTypes: []string{"password"}, Scopes: []string{"openid"}})
	// Interleave the two kinds so that load from other processes on the
	// machine hits both alike, and compare medians.
	var known, unknown []time.Duration
	attempt := func(username string) time.Duration {
		start := time.Now()
		wantError(t, s.passwordGrant(c.ID, sec, username, "wrong password", "openid"), 400, "invalid_grant")
		return time.Since(start)
	}
	attempt("alice") // warm up
	for range 9 {
		known = append(known, attempt("alice"))
		unknown = append(unknown, attempt("nobody-"+random(t)))
	}
	median := func(ds []time.Duration) time.Duration {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	k, u := median(known), median(unknown)
	// Without the dummy verification an unknown user answers in well under
	// a millisecond against tens of milliseconds for argon2id: a factor of
	// 4 separates that from scheduling noise.
	if u*4 < k || k*4 < u {
		t.Fatalf("wrong password %v vs unknown user %v: timing reveals which usernames exist", k, u)
	}
	t.Logf("median wrong password %v, unknown user %v", k, u)
}

// TestTransportProtections: security headers on every HTML page, no-store on
// every token and user-data response, CORS, body caps and malformed input.
func TestTransportProtections(t *testing.T) {
	s := newServer(t)
	const pw = "correct horse battery"
	s.user("alice", pw)
	spa, _ := s.client(app.ClientSpec{Name: "spa", Public: true, RedirectURIs: []string{"https://spa.example.com/cb"},
		GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid", "offline_access"},
		AllowedCORSOrigins: []string{"https://spa.example.com"}, SkipConsent: true})
	mobile, msec := s.client(app.ClientSpec{Name: "mobile", GrantTypes: []string{"password"}, Scopes: []string{"openid"}})

	html := []struct{ name, path string }{
		{"login page", "/login"},
		{"authorization error page", "/oauth2/authorize?client_id=nope"},
		{"logout page", "/oauth2/logout"},
		{"expired flow page", "/login?flow=nope"},
	}
	for _, p := range html {
		t.Run("OWASP-headers RFC9700-4.16 clickjacking and CSP on the "+p.name, func(t *testing.T) {
			s := s.with(t)
			r := s.get(p.path)
			if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
				t.Fatalf("%s is %q, not HTML", p.path, r.header.Get("Content-Type"))
			}
			csp := r.header.Get("Content-Security-Policy")
			for _, want := range []string{"frame-ancestors 'none'", "default-src 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			// Scripts only from our own origin, never inline or eval'd:
			// the one script is the static passkey file (SPEC part two).
			if strings.Contains(csp, "unsafe-") || !strings.Contains(csp, "script-src 'self';") {
				t.Errorf("CSP %q allows scripts beyond 'self'", csp)
			}
			body := bytes.ToLower(r.body)
			if bytes.Count(body, []byte("<script")) != bytes.Count(body, []byte(`<script src="/static/passkeys.js" defer></script>`)) {
				t.Errorf("%s has an inline script", p.path)
			}
			for h, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
				if got := r.header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			if r.header.Get("Strict-Transport-Security") != "" {
				t.Error("HSTS sent for an http issuer")
			}
		})
	}

	g := s.passwordGrant(mobile.ID, msec, "alice", pw, "openid")
	wantTokens(t, g)
	noStore := []struct {
		name string
		r    func(s *srv) resp
	}{
		{"RFC6749-5.1 token response", func(s *srv) resp { return s.passwordGrant(mobile.ID, msec, "alice", pw, "openid") }},
		{"RFC6749-5.2 token error response", func(s *srv) resp { return s.passwordGrant(mobile.ID, msec, "alice", "nope", "openid") }},
		{"RFC7662-2.2 introspection response", func(s *srv) resp { return s.introspect(g.str("access_token"), mobile.ID, msec) }},
		{"OIDC-Core-5.3.2 userinfo response", func(s *srv) resp { return s.userinfo(g.str("access_token")) }},
		{"RFC7009-2.2 revocation response", func(s *srv) resp {
			return s.post("/oauth2/revoke", url.Values{"token": {"unknown"}}, mobile.ID, msec)
		}},
	}
	for _, tc := range noStore {
		t.Run(tc.name+" is Cache-Control: no-store", func(t *testing.T) {
			r := tc.r(s.with(t))
			if !strings.Contains(r.header.Get("Cache-Control"), "no-store") {
				t.Fatalf("Cache-Control = %q (status %d)", r.header.Get("Cache-Control"), r.status)
			}
		})
	}

	cors := func(s *srv, method, origin string, hdr ...string) resp {
		req, _ := http.NewRequest(method, s.issuer+"/oauth2/token", strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {spa.ID}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		return s.do(req)
	}
	t.Run("Fetch-CORS the client's registered origin may read the token response", func(t *testing.T) {
		r := cors(s.with(t), http.MethodPost, "https://spa.example.com")
		if got := r.header.Get("Access-Control-Allow-Origin"); got != "https://spa.example.com" {
			t.Fatalf("Access-Control-Allow-Origin = %q", got)
		}
		if r.header.Get("Access-Control-Allow-Credentials") != "" {
			t.Fatal("credentialed CORS on the token endpoint")
		}
	})
	t.Run("Fetch-CORS another origin gets no CORS headers", func(t *testing.T) {
		r := cors(s.with(t), http.MethodPost, "https://evil.example.com")
		if got := r.header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Fatalf("Access-Control-Allow-Origin = %q for a foreign origin", got)
		}
	})
	t.Run("Fetch-CORS preflight from the registered origin", func(t *testing.T) {
		r := cors(s.with(t), http.MethodOptions, "https://spa.example.com", "Access-Control-Request-Method", "POST")
		if r.status != http.StatusNoContent && r.status != http.StatusOK {
			t.Fatalf("preflight status %d", r.status)
		}
		if got := r.header.Get("Access-Control-Allow-Origin"); got != "https://spa.example.com" {
			t.Fatalf("Access-Control-Allow-Origin = %q", got)
		}
	})
	t.Run("Fetch-CORS preflight from another origin", func(t *testing.T) {
		r := cors(s.with(t), http.MethodOptions, "https://evil.example.com", "Access-Control-Request-Method", "POST")
		if got := r.header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Fatalf("Access-Control-Allow-Origin = %q for a foreign origin", got)
		}
	})

	t.Run("RFC9110-15.5.14 oversized token request body is 413", func(t *testing.T) {
		s := s.with(t)
		big := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {strings.Repeat("x", int(s.s.Config.MaxBodyBytes)+1)}}
		r := s.token(big, mobile.ID, msec)
		if r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", r.status)
		}
	})

	malformed := []struct {
		name, method, path, ctype, body string
		want                            int
	}{
		{"RFC6749-3.2 token request with broken percent-encoding", "POST", "/oauth2/token", "application/x-www-form-urlencoded", "grant_type=password&username=%zz", 400},
		{"RFC6749-3.2 token request as JSON", "POST", "/oauth2/token", "application/json", `{"grant_type":"password"}`, 400},
		{"RFC6749-3.2 token request with a repeated grant_type", "POST", "/oauth2/token", "application/x-www-form-urlencoded", "grant_type=password&grant_type=client_credentials", 400},
		{"RFC6749-3.2 token request with no body", "POST", "/oauth2/token", "application/x-www-form-urlencoded", "", 400},
		{"RFC6749-3.2 token request with a broken multipart body", "POST", "/oauth2/token", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n", 400},
		{"RFC7662-2.1 introspection with broken percent-encoding", "POST", "/oauth2/introspect", "application/x-www-form-urlencoded", "token=%zz", 400},
		{"RFC7009-2.1 revocation with broken percent-encoding", "POST", "/oauth2/revoke", "application/x-www-form-urlencoded", "token=%zz", 400},
		{"RFC6749-3.1 authorize with broken percent-encoding", "GET", "/oauth2/authorize?client_id=%zz", "", "", 400},
		{"OIDC-Core-5.3.1 userinfo with a malformed Authorization header", "GET", "/userinfo", "", "", 401},
		{"OWASP login with broken percent-encoding", "POST", "/login", "application/x-www-form-urlencoded", "username=%zz", 400},
	}
	for _, tc := range malformed {
		t.Run(tc.name+" is a 4xx, never a 500", func(t *testing.T) {
			s := s.with(t)
			req, _ := http.NewRequest(tc.method, s.issuer+tc.path, strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			if tc.path == "/userinfo" {
				req.Header.Set("Authorization", "Bearer")
			}
			if strings.HasPrefix(tc.path, "/oauth2/introspect") || strings.HasPrefix(tc.path, "/oauth2/revoke") || strings.HasPrefix(tc.path, "/oauth2/token") {
				req.SetBasicAuth(mobile.ID, msec)
			}
			r := s.do(req)
			if r.status != tc.want {
				t.Fatalf("status %d, want %d: %s %s", r.status, tc.want, r.header.Get("Location"), r.body)
			}
		})
	}
}

// TestRateLimit: the per-IP limit answers 429 with Retry-After (RFC 6585
// §4) once the burst is spent.
func TestRateLimit(t *testing.T) {
	s := newServer(t, func(c *config.Config) {
		c.RateLimitEnabled = true
		c.RateLimitAPIRPS, c.RateLimitAPIBurst = 1, 3
	})
	var last resp
	for i := 0; i < 10; i++ {
		last = s.get("/.well-known/openid-configuration")
		if last.status == http.StatusTooManyRequests {
			break
		}
	}
	if last.status != http.StatusTooManyRequests {
		t.Fatalf("no 429 after 10 requests with burst 3 (last %d)", last.status)
	}
	if ra := last.header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After = %q", ra)
	}
}

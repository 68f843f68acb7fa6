package security

import (
	"bytes"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/internal/app"
)

// TestRedirectURIManipulation: the authorization endpoint compares
// redirect_uri with the registered ones by exact string match (RFC 9700
// §2.1 and §4.1.3; RFC 6749 §3.1.2.3 and §10.6). A mismatch is answered
// with an HTML error page, never with a redirect to the attacker's URI
// (RFC 6749 §4.1.2.1).
func TestRedirectURIManipulation(t *testing.T) {
	s := newServer(t)
	s.user("alice", "correct horse battery")
	a, _ := s.webClient("a", true)
	b, _ := s.webClient("b", true)

	cases := []struct{ name, redirect string }{
		{"RFC9700-4.1.1 path prefix (registered URI plus a path)", "https://a.example.com/cb/evil"},
		{"RFC9700-4.1.1 host suffix (attacker domain)", "https://a.example.com.evil.com/cb"},
		{"RFC9700-4.1.1 path traversal", "https://a.example.com/cb/../evil"},
		{"RFC9700-4.1.1 encoded path traversal", "https://a.example.com/cb/%2e%2e/evil"},
		{"RFC9700-4.1.1 userinfo@host", "https://a.example.com@evil.com/cb"},
		{"RFC9700-4.1.1 different port", "https://a.example.com:8443/cb"},
		{"RFC9700-2.1 host case differs (exact match)", "https://A.EXAMPLE.COM/cb"},
		{"RFC9700-2.1 path case differs", "https://a.example.com/CB"},
		{"RFC9700-2.1 added query parameter", "https://a.example.com/cb?next=https://evil.com"},
		{"RFC6749-3.1.2 fragment", "https://a.example.com/cb#x"},
		{"RFC9700-4.1.1 scheme downgrade to http", "http://a.example.com/cb"},
		{"RFC9700-4.1.1 percent-encoded path", "https://a.example.com/%63b"},
		{"RFC9700-4.1.1 wildcard subdomain", "https://evil.a.example.com/cb"},
		{"RFC6749-10.6 redirect URI of another client", b.RedirectURIs[0]},
		{"RFC6819-4.2.4 javascript scheme", "javascript:alert(1)//https://a.example.com/cb"},
		{"RFC6749-3.1.2 relative URI", "/cb"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := s.with(t)
			az := newAuthz(t, a, "openid")
			az.redirect = tc.redirect
			r := s.browser().get(az.path())
			if r.status != http.StatusBadRequest || r.header.Get("Location") != "" {
				t.Fatalf("got %d Location=%q, want 400 without redirect", r.status, r.header.Get("Location"))
			}
			pageRefLogs(t, s, r.body, "invalid_request")
		})
	}

	t.Run("RFC6749-4.1.2.1 unknown client_id is never redirected", func(t *testing.T) {
		s := s.with(t)
		az := newAuthz(t, a, "openid")
		az.clientID = "no-such-client"
		r := s.browser().get(az.path())
		if r.status != http.StatusUnauthorized || r.header.Get("Location") != "" {
			t.Fatalf("got %d Location=%q, want 401 page without redirect", r.status, r.header.Get("Location"))
		}
		pageRefLogs(t, s, r.body, "invalid_client")
	})

	// Registration refuses redirect URIs that exact matching cannot make
	// safe (RFC 9700 §4.1.3, RFC 7591 §2, RFC 8252 §7.3).
	reg := []struct{ name, uri, field string }{
		{"RFC6749-3.1.2 registered URI with a fragment", "https://c.example.com/cb#frag", "fragment"},
		{"RFC9700-4.1.3 registered http URI outside loopback", "http://c.example.com/cb", "https"},
		{"RFC6749-3.1.2 registered relative URI", "/cb", "absolute"},
		{"RFC9700-4.1.3 registered wildcard URI", "https://*.example.com/cb", "redirect_uris"},
	}
	for _, tc := range reg {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := s.s.App.CreateClient(s.ctx, "test", app.ClientSpec{Name: "c", RedirectURIs: []string{tc.uri},
				GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid"}})
			if err == nil || !app.IsValidation(err) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("CreateClient(%q) = %v, want a validation error mentioning %q", tc.uri, err, tc.field)
			}
		})
	}
}

var pageRef = regexp.MustCompile(`<code class="ref">([A-Z0-9-]+)</code>`)

// pageRefLogs checks that an error page shows people a reference id and not
// the protocol error, and that the log line with that reference names it.
func pageRefLogs(t *testing.T, s *srv, body []byte, code string) {
	t.Helper()
	m := pageRef.FindSubmatch(body)
	if m == nil {
		t.Fatalf("error page without a reference id:\n%s", body)
	}
	if bytes.Contains(body, []byte(code)) {
		t.Errorf("error page shows the protocol error %s", code)
	}
	for _, line := range strings.Split(s.logs.String(), "\n") {
		if strings.Contains(line, `"ref":"`+string(m[1])+`"`) {
			if !strings.Contains(line, `"error":"`+code+`"`) {
				t.Errorf("log line of ref %s lacks error %s: %s", m[1], code, line)
			}
			return
		}
	}
	t.Errorf("no log line with ref %s", m[1])
}

package security

import (
	"bytes"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var (
	formPostForm   = regexp.MustCompile(`<form method="post" action="([^"]+)"[^>]*id="form-post"`)
	formPostHidden = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// TestFormPostUnderTheServersCSP: response_mode=form_post through the whole
// server (its security-header middleware included) answers one page whose
// single CSP allows the static script and form-action exactly the client's
// origin, never inline script; the posted code redeems. OAuth 2.0 Form Post
// Response Mode §2, RFC 9207 (iss). SQLite and Postgres.
func TestFormPostUnderTheServersCSP(t *testing.T) {
	backends(t, nil, formPostUnderTheServersCSP)
}

func formPostUnderTheServersCSP(t *testing.T, s *srv) {
	s = s.with(t)
	const pw = "correct horse battery"
	s.user("alice", pw)
	c, sec := s.webClient("fp", true)
	a := newAuthz(t, c, "openid profile")
	a.state = `st"<x>'&`
	a.extra.Set("response_mode", "form_post")

	b := s.browser()
	r := b.follow(b.login(a, "alice", pw))
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || r.header.Get("Location") != "" {
		t.Fatalf("want the form_post page: %d %v\n%s", r.status, r.header, r.body)
	}
	csps := r.header.Values("Content-Security-Policy")
	if len(csps) != 1 {
		// Two policies would both apply: the middleware's (no script-src)
		// would block the page's script.
		t.Fatalf("%d Content-Security-Policy headers: %q", len(csps), csps)
	}
	csp := csps[0]
	for _, want := range []string{"default-src 'none'", "script-src 'self';", "frame-ancestors 'none'", "; form-action https://fp.example.com"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-") || strings.Count(csp, "form-action") != 1 || !strings.HasSuffix(csp, "form-action https://fp.example.com") {
		t.Errorf("CSP %q: not form-action exactly the client's origin, or script beyond 'self'", csp)
	}
	body := bytes.ToLower(r.body)
	if bytes.Count(body, []byte("<script")) != 1 || !bytes.Contains(body, []byte(`<script src="/static/formpost.js" defer></script>`)) {
		t.Errorf("the page must load only /static/formpost.js:\n%s", r.body)
	}
	m := formPostForm.FindSubmatch(r.body)
	if m == nil || html.UnescapeString(string(m[1])) != a.redirect {
		t.Fatalf("form action %q, want %s:\n%s", m, a.redirect, r.body)
	}
	fields := map[string]string{}
	for _, f := range formPostHidden.FindAllSubmatch(r.body, -1) {
		fields[html.UnescapeString(string(f[1]))] = html.UnescapeString(string(f[2]))
	}
	if fields["state"] != a.state || fields["iss"] != s.issuer || fields["code"] == "" || len(fields) != 4 || fields["scope"] != a.scope {
		t.Fatalf("hidden fields %v", fields)
	}
	if bytes.Contains(r.body, []byte(`st"<x>`)) {
		t.Fatal("state is not escaped")
	}
	wantTokens(t, s.exchange(a, fields["code"], c.ID, sec))

	// The script is served, as a script, to any page of ours.
	js := s.get("/static/formpost.js")
	if js.status != http.StatusOK || !strings.HasPrefix(js.header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("/static/formpost.js: %d %q", js.status, js.header.Get("Content-Type"))
	}
}

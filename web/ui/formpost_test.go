package ui

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestFormActionSource(t *testing.T) {
	tests := []struct {
		name, uri, want string
	}{
		{"https with path and query", "https://App.Example.com/cb?x=1", "https://app.example.com"},
		{"https with port", "https://app.example.com:8443/cb", "https://app.example.com:8443"},
		{"http loopback with port", "http://127.0.0.1:53121/callback", "http://127.0.0.1:53121"},
		{"http localhost", "http://localhost/cb", "http://localhost"},
		{"custom scheme", "com.example.app:/oauth2redirect", ""},
		{"IPv6 loopback", "http://[::1]:8080/cb", ""},
		{"underscore in host", "https://my_app.example.com/cb", ""},
		{"user info", "https://u:p@app.example.com/cb", ""},
		{"javascript", "javascript:alert(1)", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := url.Parse(tc.uri)
			if err != nil {
				t.Fatal(err)
			}
			got, err := FormActionSource(u)
			if tc.want == "" {
				if !errors.Is(err, ErrFormAction) {
					t.Fatalf("FormActionSource(%s) = %q, %v; want ErrFormAction", tc.uri, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("FormActionSource(%s) = %q, %v; want %q", tc.uri, got, err, tc.want)
			}
		})
	}
	if _, err := FormActionSource(nil); !errors.Is(err, ErrFormAction) {
		t.Fatalf("nil URI: %v", err)
	}
}

func TestFormPostPage(t *testing.T) {
	rec := httptest.NewRecorder()
	action, _ := url.Parse("https://app.example.com/cb?tenant=a&b=c")
	state := `x"><script>alert(1)</script>&'`
	err := FormPost(rec, action, url.Values{"code": {"ory_ac_abc"}, "state": {state}, "iss": {"https://id.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("%d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	csp := rec.Header().Get("Content-Security-Policy")
	if csp != CSP+"; form-action https://app.example.com" || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("CSP %q", csp)
	}
	if rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("X-Frame-Options") != "DENY" {
		t.Fatalf("headers %v", rec.Header())
	}
	for _, want := range []string{
		`<form method="post" action="https://app.example.com/cb?tenant=a&amp;b=c"`,
		`<input type="hidden" name="code" value="ory_ac_abc">`,
		`<input type="hidden" name="iss" value="https://id.example.com">`,
		`<input type="hidden" name="state" value="x&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;&#39;">`,
		`<button type="submit" class="primary">Continue</button>`,
		`<script src="/static/formpost.js" defer></script>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<script>") || strings.Count(body, "<script") != 1 {
		t.Errorf("an inline or extra script:\n%s", body)
	}

	// A target the CSP cannot name writes nothing.
	rec = httptest.NewRecorder()
	native, _ := url.Parse("com.example.app:/cb")
	if err := FormPost(rec, native, url.Values{"code": {"c"}}); !errors.Is(err, ErrFormAction) || rec.Body.Len() != 0 || rec.Header().Get("Content-Security-Policy") != "" {
		t.Fatalf("custom scheme: %v, %q", err, rec.Body.String())
	}
}

func TestFormPostScriptIsServed(t *testing.T) {
	rec := httptest.NewRecorder()
	Static().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, FormPostScriptPath, nil))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/javascript") ||
		!strings.Contains(rec.Body.String(), "form.submit()") {
		t.Fatalf("%d %s %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
}

package oidc_test

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/sesameauth/sesame/storage"
)

// clientCallback is a client's redirect URI on its own origin (another
// httptest server): it records every form POSTed to /callback and
// answers with a page, or with a 303 to /done (on its own origin) when
// thenRedirect is set.
type clientCallback struct {
	srv          *httptest.Server
	mu           sync.Mutex
	posts        []url.Values
	thenRedirect bool
}

func newClientCallback(t *testing.T) *clientCallback {
	t.Helper()
	cb := &clientCallback{}
	cb.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/done" && r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(`<!doctype html><title>client</title><h1 id="done">done</h1>`))
			return
		}
		if r.URL.Path != "/callback" || r.Method != http.MethodPost {
			http.Error(w, "want POST /callback", http.StatusMethodNotAllowed)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		cb.mu.Lock()
		cb.posts = append(cb.posts, r.PostForm)
		redirect := cb.thenRedirect
		cb.mu.Unlock()
		if redirect {
			http.Redirect(w, r, "/done", http.StatusSeeOther)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>client</title><h1 id="received">received</h1>`))
	}))
	t.Cleanup(cb.srv.Close)
	return cb
}

func (cb *clientCallback) uri() string { return cb.srv.URL + "/callback" }

func (cb *clientCallback) received() []url.Values {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return append([]url.Values(nil), cb.posts...)
}

const formPostSecret = "form-post-secret-0123456789abcdef0123456789"

// addFormPostClient registers a confidential client whose redirect URI is
// cb's, on another origin than the issuer.
func (e *env) addFormPostClient(cb *clientCallback, skipConsent bool) {
	e.t.Helper()
	e.addClient(storage.Client{ID: "fp-app", Name: "Form Post App", SecretHash: e.ring.HashClientSecret(formPostSecret),
		TokenEndpointAuthMethod: "client_secret_basic", SkipConsent: skipConsent,
		RedirectURIs: []string{cb.uri()}, GrantTypes: []string{"authorization_code"}, ResponseTypes: []string{"code"},
		Scopes: []string{"openid", "profile"}})
}

func (e *env) formPostRequest(cb *clientCallback, state string) *authRequest {
	a := e.newAuthRequest("fp-app", "")
	a.redirect = cb.uri()
	a.scope = "openid profile"
	a.state = state
	a.extra.Set("response_mode", "form_post")
	return a
}

var (
	formPostAction = regexp.MustCompile(`<form method="post" action="([^"]+)"[^>]*id="form-post"`)
	hiddenInput    = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// formPostPage checks a form_post answer under the strict CSP and returns
// the form's target and fields, as a browser would read them.
func formPostPage(t *testing.T, resp *http.Response, body, wantOrigin string) (string, url.Values) {
	t.Helper()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || resp.Header.Get("Location") != "" {
		t.Fatalf("want the form_post page: %d %v\n%s", resp.StatusCode, resp.Header, body)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "form-action " + wantOrigin} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "sha256-") || strings.Contains(csp, "nonce-") ||
		strings.Count(csp, "form-action") != 1 || strings.Contains(csp, "form-action 'self'") {
		t.Errorf("CSP %q: inline script allowed, or form-action not exactly the client's origin", csp)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	if strings.Contains(body, "<script>") || strings.Count(body, "<script") != 1 || !strings.Contains(body, `<script src="/static/formpost.js" defer></script>`) {
		t.Errorf("the page must load only the static form_post script:\n%s", body)
	}
	if !strings.Contains(body, `<button type="submit" class="primary">Continue</button>`) {
		t.Errorf("no visible Continue button (the fallback without script):\n%s", body)
	}
	m := formPostAction.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no form_post form:\n%s", body)
	}
	fields := url.Values{}
	for _, f := range hiddenInput.FindAllStringSubmatch(body, -1) {
		fields.Add(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	return html.UnescapeString(m[1]), fields
}

func TestFormPostCodeFlow(t *testing.T) {
	e := newEnv(t)
	cb := newClientCallback(t)
	e.addFormPostClient(cb, false)
	b := e.browser()
	// A state a page could be broken by, if it were not escaped.
	state := `s"><script>alert(1)</script><b x='y'>&amp;`
	a := e.formPostRequest(cb, state)

	resp, body := b.login(a.url(e.issuer), "alice", alicePassword)
	resp, body = b.follow(resp, body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="decision" value="allow"`) {
		t.Fatalf("expected the consent page, got %d:\n%s", resp.StatusCode, body)
	}
	resp, body = b.consent(body, "allow", false)
	resp, body = b.follow(resp, body)

	action, fields := formPostPage(t, resp, body, cb.srv.URL)
	if action != cb.uri() {
		t.Fatalf("form action %q, want the redirect URI %q", action, cb.uri())
	}
	if strings.Contains(body, "<script>alert") || strings.Contains(body, `"><b x=`) {
		t.Fatalf("state is not escaped:\n%s", body)
	}
	if fields.Get("state") != state || fields.Get("iss") != e.issuer || fields.Get("code") == "" || fields.Get("error") != "" {
		t.Fatalf("hidden fields %v, want code, state %q and iss %q", fields, state, e.issuer)
	}

	// The browser's POST reaches the client, and the code redeems once.
	post, err := http.PostForm(action, fields)
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	got := cb.received()
	if post.StatusCode != http.StatusOK || len(got) != 1 || got[0].Get("code") != fields.Get("code") || got[0].Get("state") != state {
		t.Fatalf("client callback: %d %v", post.StatusCode, got)
	}
	ctx := context.Background()
	cfg := a.oauth2Config(e.issuer, formPostSecret)
	tok, err := cfg.Exchange(ctx, got[0].Get("code"), oauth2.VerifierOption(a.verifier))
	if err != nil {
		t.Fatalf("exchange of the posted code: %v", err)
	}
	if id, _ := tok.Extra("id_token").(string); id == "" || tok.AccessToken == "" {
		t.Fatalf("token response without tokens: %+v", tok)
	}
	if _, err := cfg.Exchange(ctx, got[0].Get("code"), oauth2.VerifierOption(a.verifier)); err == nil {
		t.Fatal("the posted code redeemed twice")
	}
}

func TestFormPostErrors(t *testing.T) {
	e := newEnv(t)
	cb := newClientCallback(t)
	e.addFormPostClient(cb, false)

	t.Run("prompt=none without a session", func(t *testing.T) {
		state := `<"none">`
		a := e.formPostRequest(cb, state)
		a.extra.Set("prompt", "none")
		resp, body := e.browser().get(a.url(e.issuer))
		action, fields := formPostPage(t, resp, body, cb.srv.URL)
		if action != cb.uri() || fields.Get("error") != "login_required" || fields.Get("state") != state ||
			fields.Get("iss") != e.issuer || fields.Get("code") != "" {
			t.Fatalf("action %q fields %v", action, fields)
		}
	})

	t.Run("denied consent", func(t *testing.T) {
		b := e.browser()
		a := e.formPostRequest(cb, "deny-state")
		resp, body := b.login(a.url(e.issuer), "alice", alicePassword)
		resp, body = b.follow(resp, body)
		resp, body = b.consent(body, "deny", false)
		resp, body = b.follow(resp, body)
		_, fields := formPostPage(t, resp, body, cb.srv.URL)
		if fields.Get("error") != "access_denied" || fields.Get("state") != "deny-state" || fields.Get("code") != "" {
			t.Fatalf("fields %v", fields)
		}
	})

	t.Run("a request fosite refuses", func(t *testing.T) {
		a := e.formPostRequest(cb, "scope-state")
		a.scope = "openid admin:everything"
		resp, body := e.browser().get(a.url(e.issuer))
		_, fields := formPostPage(t, resp, body, cb.srv.URL)
		if fields.Get("error") != "invalid_scope" || fields.Get("state") != "scope-state" {
			t.Fatalf("fields %v", fields)
		}
	})

	t.Run("an unregistered redirect URI gets a page, never a form", func(t *testing.T) {
		a := e.formPostRequest(cb, "s")
		a.redirect = "https://evil.example.com/callback"
		resp, body := e.browser().get(a.url(e.issuer))
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, "<form") || strings.Contains(body, "evil.example.com") ||
			strings.Contains(resp.Header.Get("Content-Security-Policy"), "form-action") {
			t.Fatalf("%d %v\n%s", resp.StatusCode, resp.Header, body)
		}
	})

	t.Run("a native redirect URI cannot take form_post", func(t *testing.T) {
		e.addClient(storage.Client{ID: "native-app", Name: "Native", Public: true, TokenEndpointAuthMethod: "none",
			RedirectURIs: []string{"com.example.app:/oauth2redirect"}, GrantTypes: []string{"authorization_code"},
			ResponseTypes: []string{"code"}, Scopes: []string{"openid"}})
		a := e.newAuthRequest("native-app", "")
		a.redirect, a.scope = "com.example.app:/oauth2redirect", "openid"
		a.extra.Set("response_mode", "form_post")
		resp, body := e.browser().get(a.url(e.issuer))
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, "<form") || resp.Header.Get("Location") != "" {
			t.Fatalf("%d %v\n%s", resp.StatusCode, resp.Header, body)
		}
		e.errorLogged(t, body, "unsupported_response_mode")
	})

	t.Run("fragment is still refused, at the redirect URI", func(t *testing.T) {
		a := e.newAuthRequest("public-app", "/cb")
		a.extra.Set("response_mode", "fragment")
		resp, body := e.browser().get(a.url(e.issuer))
		if got := location(t, resp, body).Query().Get("error"); got != "unsupported_response_mode" {
			t.Fatalf("fragment: error %q", got)
		}
	})
}

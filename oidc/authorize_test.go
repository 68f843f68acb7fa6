package oidc_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestAuthorizeUntrustedErrorsRenderPageWithoutRedirect(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		modify func(q url.Values)
		code   string
	}{
		{"unknown client", func(q url.Values) { q.Set("client_id", "nope") }, "invalid_client"},
		{"unregistered redirect URI", func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") }, "invalid_request"},
		{"redirect URI differing in path", func(q url.Values) { q.Set("redirect_uri", e.issuer+"/cb/x") }, "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := e.newAuthRequest("public-app", "/cb")
			u := mustParse(a.url(e.issuer))
			q := u.Query()
			tc.modify(q)
			u.RawQuery = q.Encode()
			resp, body := e.browser().get(u.String())
			if resp.StatusCode < 400 {
				t.Fatalf("status %d, want an error page", resp.StatusCode)
			}
			if loc := resp.Header.Get("Location"); loc != "" {
				t.Fatalf("redirected to %s; untrusted errors must never redirect", loc)
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Errorf("want an HTML page, got %s:\n%s", resp.Header.Get("Content-Type"), body)
			}
			// For people: plain words and a reference; the code in the log.
			e.errorLogged(t, body, "error="+tc.code)
		})
	}
}

func TestAuthorizeRedirectableErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		client string
		path   string
		modify func(q url.Values)
		want   string
	}{
		{"public client without PKCE", "public-app", "/cb", func(q url.Values) {
			q.Del("code_challenge")
			q.Del("code_challenge_method")
		}, "invalid_request"},
		{"plain PKCE refused", "public-app", "/cb", func(q url.Values) {
			q.Set("code_challenge_method", "plain")
			q.Set("code_challenge", strings.Repeat("a", 43))
		}, "invalid_request"},
		{"PKCE without method means plain, refused", "conf-app", "/cb2", func(q url.Values) { q.Del("code_challenge_method") }, "invalid_request"},
		{"implicit response_type token", "public-app", "/cb", func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type"},
		{"hybrid response_type", "public-app", "/cb", func(q url.Values) { q.Set("response_type", "code id_token") }, "unsupported_response_type"},
		{"scope the client may not ask", "first-party", "/cb3", func(q url.Values) { q.Set("scope", "openid email") }, "invalid_scope"},
		{"unknown prompt", "public-app", "/cb", func(q url.Values) { q.Set("prompt", "bogus") }, "invalid_request"},
		{"prompt=none without a session", "public-app", "/cb", func(q url.Values) { q.Set("prompt", "none") }, "login_required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := e.newAuthRequest(tc.client, tc.path)
			if tc.client == "first-party" {
				a.scope = "openid"
			}
			u := mustParse(a.url(e.issuer))
			q := u.Query()
			tc.modify(q)
			u.RawQuery = q.Encode()
			resp, body := e.browser().get(u.String())
			loc := location(t, resp, body)
			if got := loc.Scheme + "://" + loc.Host + loc.Path; got != a.redirect {
				t.Fatalf("redirected to %s, want %s", got, a.redirect)
			}
			lq := loc.Query()
			if lq.Get("error") != tc.want {
				t.Errorf("error = %q (%s), want %q", lq.Get("error"), lq.Get("error_description"), tc.want)
			}
			if lq.Get("state") != a.state || lq.Get("iss") != e.issuer {
				t.Errorf("state/iss = %q/%q, want %q/%q", lq.Get("state"), lq.Get("iss"), a.state, e.issuer)
			}
			if lq.Get("code") != "" {
				t.Error("an error response carries a code")
			}
		})
	}
}

func TestAuthorizationCodeIsSingleUseAndReuseRevokesTokens(t *testing.T) {
	e := newEnv(t)
	a := e.newAuthRequest("public-app", "/cb")
	code := fullFlow(t, e, e.browser(), a, false)
	ctx := context.Background()
	cfg := a.oauth2Config(e.issuer, "")
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(a.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	_, err = cfg.Exchange(ctx, code, oauth2.VerifierOption(a.verifier))
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("second exchange: %v, want invalid_grant", err)
	}
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Error("the refresh token still works after the code was replayed")
	}
}

func TestExpiredCodeIsRefused(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.authCodeLifetime = time.Second })
	a := e.newAuthRequest("public-app", "/cb")
	code := fullFlow(t, e, e.browser(), a, false)
	time.Sleep(1100 * time.Millisecond)
	_, err := a.oauth2Config(e.issuer, "").Exchange(context.Background(), code, oauth2.VerifierOption(a.verifier))
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("exchange of an expired code: %v, want invalid_grant", err)
	}
}

func TestWrongPasswordShowsGenericMessage(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ name, user, pw string }{
		{"wrong password", "alice", "nope nope"},
		{"unknown user", "mallory", "nope nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := e.browser()
			a := e.newAuthRequest("public-app", "/cb")
			resp, body := b.login(a.url(e.issuer), tc.user, tc.pw)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", resp.StatusCode)
			}
			if !strings.Contains(body, "Incorrect username or password.") || !strings.Contains(body, `name="password"`) {
				t.Errorf("want the form again with the generic message:\n%s", body)
			}
			if b.cookie("sesame_session") != "" {
				t.Error("a failed login set a session cookie")
			}
		})
	}
}

func TestDisabledUserCannotSignIn(t *testing.T) {
	e := newEnv(t)
	u := e.bob
	u.Disabled = true
	if err := e.store.UpdateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	resp, body := e.browser().login(e.newAuthRequest("public-app", "/cb").url(e.issuer), "bob", bobPassword)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Incorrect username or password.") {
		t.Fatalf("disabled user: status %d, want the generic failure", resp.StatusCode)
	}
}

func TestFormsRequireCSRFProtection(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name  string
		token func(real string) string
		hdr   map[string]string
	}{
		{"missing token", func(string) string { return "" }, nil},
		{"wrong token", func(string) string { return "AAAA" + strings.Repeat("b", 39) }, nil},
		{"cross-site post with the right token", func(real string) string { return real }, map[string]string{"Sec-Fetch-Site": "cross-site"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := e.browser()
			resp, body := b.get(e.newAuthRequest("public-app", "/cb").url(e.issuer))
			resp, body = b.get(location(t, resp, body).String())
			action, csrf := formOf(t, body)
			req, _ := http.NewRequest(http.MethodPost, e.issuer+action, strings.NewReader(url.Values{
				"username": {"alice"}, "password": {alicePassword}, "csrf_token": {tc.token(csrf)}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			resp, err := b.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("status %d, want 403", resp.StatusCode)
			}
			if b.cookie("sesame_session") != "" {
				t.Error("signed in despite the CSRF failure")
			}
		})
	}
}

func TestLoginRotatesSessionID(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	// A session id planted before login (fixation) must not survive it.
	b.jar.SetCookies(mustParse(e.issuer), []*http.Cookie{{Name: "sesame_session", Value: "planted-by-attacker", Path: "/"}})
	a := e.newAuthRequest("public-app", "/cb")
	resp, body := b.login(a.url(e.issuer), "alice", alicePassword)
	location(t, resp, body)
	first := b.cookie("sesame_session")
	if first == "" || first == "planted-by-attacker" {
		t.Fatalf("session cookie after login = %q", first)
	}
	// prompt=login forces a new password check and a new session id.
	a2 := e.newAuthRequest("public-app", "/cb")
	a2.extra.Set("prompt", "login")
	resp, body = b.login(a2.url(e.issuer), "alice", alicePassword)
	location(t, resp, body)
	second := b.cookie("sesame_session")
	if second == "" || second == first {
		t.Fatalf("session id not rotated at the second login")
	}
	// The old cookie value no longer identifies a session.
	old := e.browser()
	old.jar.SetCookies(mustParse(e.issuer), []*http.Cookie{{Name: "sesame_session", Value: first, Path: "/"}})
	a3 := e.newAuthRequest("public-app", "/cb")
	a3.extra.Set("prompt", "none")
	resp, body = old.get(a3.url(e.issuer))
	if got := location(t, resp, body).Query().Get("error"); got != "login_required" {
		t.Errorf("old session cookie: error = %q, want login_required", got)
	}
}

func TestConsentRememberedAndPromptConsent(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	fullFlow(t, e, b, e.newAuthRequest("public-app", "/cb"), true)

	// Same browser, same scopes: no login, no consent page.
	a := e.newAuthRequest("public-app", "/cb")
	resp, body := b.get(a.url(e.issuer))
	codeFrom(t, e, a, resp, body)

	// prompt=none works too now.
	a = e.newAuthRequest("public-app", "/cb")
	a.extra.Set("prompt", "none")
	resp, body = b.get(a.url(e.issuer))
	codeFrom(t, e, a, resp, body)

	// prompt=consent shows the page again.
	a = e.newAuthRequest("public-app", "/cb")
	a.extra.Set("prompt", "consent")
	resp, body = b.get(a.url(e.issuer))
	if loc := location(t, resp, body); loc.Path != "/consent" {
		t.Fatalf("prompt=consent went to %s, want /consent", loc)
	}
}

func TestConsentNotRememberedAsksAgain(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	fullFlow(t, e, b, e.newAuthRequest("public-app", "/cb"), false)
	a := e.newAuthRequest("public-app", "/cb")
	a.extra.Set("prompt", "none")
	resp, body := b.get(a.url(e.issuer))
	if got := location(t, resp, body).Query().Get("error"); got != "consent_required" {
		t.Errorf("prompt=none without remembered consent: error = %q, want consent_required", got)
	}
}

func TestDenyReturnsAccessDenied(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	a := e.newAuthRequest("public-app", "/cb")
	resp, body := b.login(a.url(e.issuer), "alice", alicePassword)
	resp, body = b.follow(resp, body)
	resp, body = b.consent(body, "deny", false)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("consent POST answered %d, want 303", resp.StatusCode)
	}
	resp, body = b.follow(resp, body)
	loc := location(t, resp, body)
	q := loc.Query()
	if q.Get("error") != "access_denied" || q.Get("state") != a.state || q.Get("iss") != e.issuer || q.Get("code") != "" {
		t.Errorf("deny answered %s", loc)
	}
	// The finished flow cannot be replayed.
	again, _ := b.get(resp.Request.URL.String())
	if again.StatusCode != http.StatusBadRequest {
		t.Errorf("replayed flow URL: status %d, want 400", again.StatusCode)
	}
}

func TestSkipConsentAndSingleSignOn(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	fullFlow(t, e, b, e.newAuthRequest("public-app", "/cb"), false)
	// Another client, already signed in, registered with skip_consent:
	// straight back with a code.
	a := e.newAuthRequest("first-party", "/cb3")
	a.scope = "openid profile"
	resp, body := b.get(a.url(e.issuer))
	codeFrom(t, e, a, resp, body)
}

func TestPostRedirectsUse303(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	a := e.newAuthRequest("public-app", "/cb")
	resp, body := b.login(a.url(e.issuer), "alice", alicePassword)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login POST answered %d, want 303:\n%s", resp.StatusCode, body)
	}
	// A POSTed authorization request is answered with 303 too.
	q := mustParse(e.newAuthRequest("first-party", "/cb3").url(e.issuer)).Query()
	q.Set("scope", "openid")
	resp, body = b.post(e.issuer+"/oauth2/authorize", q)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /oauth2/authorize answered %d, want 303", resp.StatusCode)
	}
	if strings.Contains(resp.Header.Get("Access-Control-Allow-Origin"), "*") {
		t.Error("the authorization endpoint must not send CORS headers")
	}
}

// drainFlows deletes every stored authorization flow and returns how many
// there were.
func (e *env) drainFlows() int {
	e.t.Helper()
	n, err := e.store.DeleteExpiredFlows(context.Background(), time.Now().Add(24*time.Hour), 1000)
	if err != nil {
		e.t.Fatalf("delete flows: %v", err)
	}
	return n
}

// repeatedRequest is a's authorization request with the extra values of
// add appended (so a parameter already there is sent twice): as a GET, or
// as a POST whose body carries add and whose query carries the rest.
func repeatedRequest(t *testing.T, e *env, b *browser, a *authRequest, post bool, add url.Values) (*http.Response, string) {
	t.Helper()
	u := mustParse(a.url(e.issuer))
	if post {
		return b.post(u.String(), add)
	}
	q := u.Query()
	for k, vs := range add {
		q[k] = append(q[k], vs...)
	}
	u.RawQuery = q.Encode()
	return b.get(u.String())
}

func TestAuthorizeRefusesRepeatedParameters(t *testing.T) {
	e := newEnv(t)
	t.Run("untrusted redirect: error page", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			post  bool
			add   url.Values
			param string
		}{
			{"client_id twice", false, url.Values{"client_id": {"conf-app"}}, "client_id"},
			{"client_id twice, same value", false, url.Values{"client_id": {"public-app"}}, "client_id"},
			{"redirect_uri twice", false, url.Values{"redirect_uri": {"https://evil.example/cb"}}, "redirect_uri"},
			{"redirect_uri in query and POST body", true, url.Values{"redirect_uri": {"https://evil.example/cb"}}, "redirect_uri"},
			{"redirect_uri and scope twice", false, url.Values{"redirect_uri": {e.issuer + "/cb"}, "scope": {"openid"}}, "redirect_uri"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.drainFlows()
				b := e.browser()
				resp, body := repeatedRequest(t, e, b, e.newAuthRequest("public-app", "/cb"), tc.post, tc.add)
				if resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("status %d, want 400:\n%s", resp.StatusCode, body)
				}
				if loc := resp.Header.Get("Location"); loc != "" {
					t.Fatalf("redirected to %s; a repeated %s must never redirect", loc, tc.param)
				}
				if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
					t.Errorf("want an HTML page, got %s:\n%s", resp.Header.Get("Content-Type"), body)
				}
				e.errorLogged(t, body, "error=invalid_request", tc.param)
				if n := e.drainFlows(); n != 0 {
					t.Errorf("%d login flows created for a refused request", n)
				}
			})
		}
	})

	t.Run("trusted redirect: invalid_request", func(t *testing.T) {
		for _, tc := range []struct {
			name      string
			post      bool
			add       url.Values
			param     string
			echoState bool
		}{
			{"scope twice", false, url.Values{"scope": {"openid"}}, "scope", true},
			{"scope in query and POST body", true, url.Values{"scope": {"openid"}}, "scope", true},
			{"state twice", false, url.Values{"state": {"state-other-value"}}, "state", false},
			{"code_challenge twice", false, url.Values{"code_challenge": {strings.Repeat("b", 43)}}, "code_challenge", true},
			{"nonce twice", false, url.Values{"nonce": {"nonce-other"}}, "nonce", true},
			{"prompt twice", false, url.Values{"prompt": {"none", "login"}}, "prompt", true},
			{"response_type twice", false, url.Values{"response_type": {"token"}}, "response_type", true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.drainFlows()
				b := e.browser()
				a := e.newAuthRequest("public-app", "/cb")
				resp, body := repeatedRequest(t, e, b, a, tc.post, tc.add)
				loc := location(t, resp, body)
				if got := loc.Scheme + "://" + loc.Host + loc.Path; got != a.redirect {
					t.Fatalf("redirected to %s, want %s", got, a.redirect)
				}
				lq := loc.Query()
				if lq.Get("error") != "invalid_request" || !strings.Contains(lq.Get("error_description"), tc.param) {
					t.Errorf("error = %q (%s), want invalid_request naming %s", lq.Get("error"), lq.Get("error_description"), tc.param)
				}
				if tc.echoState && lq.Get("state") != a.state {
					t.Errorf("state = %q, want %q", lq.Get("state"), a.state)
				}
				if !tc.echoState && lq.Has("state") {
					t.Errorf("state = %q echoed although it was sent twice", lq["state"])
				}
				if lq.Get("iss") != e.issuer || lq.Get("code") != "" {
					t.Errorf("iss = %q, code = %q; want %q and no code", lq.Get("iss"), lq.Get("code"), e.issuer)
				}
				if n := e.drainFlows(); n != 0 {
					t.Errorf("%d login flows created for a refused request", n)
				}
				if cs := b.jar.Cookies(mustParse(e.issuer)); len(cs) != 0 {
					t.Errorf("a refused request set cookies %v", cs)
				}
			})
		}
	})

	t.Run("accepted", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			post bool
			add  url.Values
		}{
			{"no repeat", false, nil},
			{"no repeat, POST", true, url.Values{}},
			{"unknown parameter twice", false, url.Values{"x_tracking": {"a", "b"}}},
			{"unknown parameter in query and POST body", true, url.Values{"x_tracking": {"a"}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.drainFlows()
				b := e.browser()
				a := e.newAuthRequest("public-app", "/cb")
				if tc.post {
					a.extra.Set("x_tracking", "q")
				}
				resp, body := repeatedRequest(t, e, b, a, tc.post, tc.add)
				if loc := location(t, resp, body); loc.Path != "/login" {
					t.Fatalf("redirected to %s, want /login", loc)
				}
				if n := e.drainFlows(); n != 1 {
					t.Errorf("%d login flows created, want 1", n)
				}
			})
		}
	})
}

package web_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/web"
)

func signupServer(t *testing.T, mode string) (string, storage.Store) {
	t.Helper()
	var base string
	srv, st := newServerWith(t, func(d *web.Deps, full storage.Store) {
		base = d.Issuer
		d.App = app.New(full, nil, cheap, nil).WithAccounts(app.AccountSettings{Issuer: d.Issuer, Signup: mode})
		d.Passwords = app.NewPasswords(full, nil, cheap, nil).WithRequireVerifiedEmail(true)
	})
	_ = srv
	return base, st
}

func newClient() uaClient {
	jar, _ := cookiejar.New(nil)
	return uaClient{c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, ua: "T/1"}
}

func TestSignupOffIsNotServed(t *testing.T) {
	base, _ := signupServer(t, app.SignupOff)
	c := newClient()
	if code, _, _ := c.do(t, "GET", base+"/signup", nil); code != http.StatusNotFound {
		t.Fatalf("GET /signup with sign-up off: %d", code)
	}
	if _, _, body := c.do(t, "GET", base+"/login", nil); strings.Contains(body, `id="signup-link"`) {
		t.Fatal("login page links sign-up while it is off")
	}
}

func TestSignupVerifyThenSignIn(t *testing.T) {
	base, st := signupServer(t, app.SignupOpen)
	c := newClient()
	_, _, login := c.do(t, "GET", base+"/login", nil)
	if !strings.Contains(login, `href="/signup" id="signup-link"`) {
		t.Fatal("login page lacks the Create account link")
	}
	_, _, page := c.do(t, "GET", base+"/signup", nil)
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no csrf on /signup")
	}
	form := url.Values{"username": {"zoe"}, "email": {"zoe@example.com"}, "password": {"a fine passphrase"}, "csrf_token": {m[1]}}
	if code, _, _ := c.do(t, "POST", base+"/signup", url.Values{"username": {"zoe"}}); code != http.StatusForbidden {
		t.Fatalf("sign-up without CSRF token: %d", code)
	}
	bad := url.Values{"username": {"zoe"}, "email": {"zoe@example.com\r\nBcc: x@evil.test"}, "password": {"a fine passphrase"}, "csrf_token": {m[1]}}
	if code, _, _ := c.do(t, "POST", base+"/signup", bad); code != http.StatusBadRequest {
		t.Fatalf("header injection: %d", code)
	}
	code, _, body := c.do(t, "POST", base+"/signup", form)
	if code != http.StatusOK || !strings.Contains(body, "zoe@example.com") {
		t.Fatalf("sign-up: %d\n%s", code, body)
	}
	if code, _, _ := c.do(t, "POST", base+"/signup", form); code != http.StatusConflict {
		t.Fatalf("same username again: %d", code)
	}
	ms, _ := st.ListMail(context.Background(), 10)
	if len(ms) != 1 || len(ms[0].Links) != 1 || !strings.HasPrefix(ms[0].Links[0], base+"/verify-email?token=") {
		t.Fatalf("mail %+v", ms)
	}
	link := ms[0].Links[0]

	// Before verification the right password is refused, with a resend link.
	_, _, login = c.do(t, "GET", base+"/login", nil)
	m = csrfRE.FindStringSubmatch(login)
	lf := url.Values{"username": {"zoe"}, "password": {"a fine passphrase"}, "csrf_token": {m[1]}}
	code, _, body = c.do(t, "POST", base+"/login", lf)
	if code != http.StatusForbidden || !strings.Contains(body, `href="/verify-email/resend"`) {
		t.Fatalf("unverified sign-in: %d\n%s", code, body)
	}
	if code, _, _ := c.do(t, "GET", link+"x", nil); code != http.StatusBadRequest {
		t.Fatalf("tampered link: %d", code)
	}
	if code, _, _ := c.do(t, "GET", link, nil); code != http.StatusOK {
		t.Fatalf("verification link: %d", code)
	}
	if code, _, _ := c.do(t, "GET", link, nil); code != http.StatusBadRequest {
		t.Fatalf("reused link: %d", code)
	}
	if code, loc, _ := c.do(t, "POST", base+"/login", lf); code != http.StatusSeeOther || loc != "/account" {
		t.Fatalf("verified sign-in: %d %q", code, loc)
	}
}

func TestSignupInviteOnly(t *testing.T) {
	base, _ := signupServer(t, app.SignupInvite)
	c := newClient()
	if code, _, _ := c.do(t, "GET", base+"/signup", nil); code != http.StatusForbidden {
		t.Fatalf("invite mode without invitation: %d", code)
	}
	if code, _, _ := c.do(t, "GET", base+"/signup?invite=forged", nil); code != http.StatusBadRequest {
		t.Fatalf("forged invitation: %d", code)
	}
}

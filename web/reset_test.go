package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/web"
)

// resetServer serves the UI with mail on (kept in the store) and the
// per-address limit at addrLimit requests an hour; carol has an email.
func resetServer(t *testing.T, addrLimit int) (string, storage.Store) {
	t.Helper()
	var base string
	_, st := newServerWith(t, func(d *web.Deps, full storage.Store) {
		base = d.Issuer
		d.App = app.New(full, nil, cheap, nil).WithAccounts(app.AccountSettings{Issuer: d.Issuer, Signup: app.SignupOff}).
			WithLimiter(throttle.NewLimiter(full, time.Now), app.MailLimits{
				PerAddress:   throttle.Rate{Max: addrLimit, Window: time.Hour},
				PerRecipient: throttle.Rate{Max: 3, Window: time.Hour},
			})
	})
	a := app.New(st, nil, cheap, nil)
	if _, err := a.CreateUser(context.Background(), "test", app.NewUser{Username: "carol", Password: "old passphrase", Email: "carol@example.com", EmailVerified: true}); err != nil {
		t.Fatal(err)
	}
	return base, st
}

// form GETs page and returns its csrf token.
func formToken(t *testing.T, c uaClient, page string) string {
	t.Helper()
	_, _, body := c.do(t, "GET", page, nil)
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf token on %s:\n%s", page, body)
	}
	return m[1]
}

func login(t *testing.T, c uaClient, base, user, pw string) int {
	t.Helper()
	code, _, _ := c.do(t, "POST", base+"/login", url.Values{"username": {user}, "password": {pw}, "csrf_token": {formToken(t, c, base+"/login")}})
	return code
}

func resetMails(t *testing.T, st storage.Store) []string {
	t.Helper()
	ms, err := st.ListMail(context.Background(), 50)
	if err != nil {
		t.Fatal(err)
	}
	var links []string
	for _, m := range ms {
		if m.Recipient == "carol@example.com" && strings.Contains(m.Subject, "Reset") {
			links = append(links, m.Links...)
		}
	}
	return links
}

func TestForgotThenResetPassword(t *testing.T) {
	base, st := resetServer(t, 50)
	c := newClient()
	_, _, loginPage := c.do(t, "GET", base+"/login", nil)
	if !strings.Contains(loginPage, `href="/password/forgot" id="forgot-link"`) {
		t.Fatal("login page lacks the Forgot password? link")
	}
	// A signed-in browser, to see the reset end its session.
	other := newClient()
	if code := login(t, other, base, "carol", "old passphrase"); code != http.StatusSeeOther {
		t.Fatalf("sign-in with the old password: %d", code)
	}
	if code, _, _ := other.do(t, "POST", base+"/password/forgot", url.Values{"identifier": {"carol"}}); code != http.StatusForbidden {
		t.Fatalf("forgot without CSRF token: %d", code)
	}
	// The same answer for an existing and an unknown account.
	answer := func(id string) (int, string) {
		code, _, body := c.do(t, "POST", base+"/password/forgot", url.Values{"identifier": {id}, "csrf_token": {formToken(t, c, base+"/password/forgot")}})
		return code, body
	}
	codeKnown, known := answer("carol@example.com")
	codeUnknown, unknown := answer("nobody@example.com")
	strip := func(s string) string { return csrfRE.ReplaceAllString(s, "") }
	if codeKnown != http.StatusOK || codeUnknown != http.StatusOK || strip(known) != strip(unknown) || !strings.Contains(known, `id="forgot-sent"`) {
		t.Fatalf("forgot answers differ: %d vs %d\n%s\n---\n%s", codeKnown, codeUnknown, known, unknown)
	}
	if code, body := answer("carol\r\nBcc: x@evil.test"); code != http.StatusBadRequest || !strings.Contains(body, `id="forgot-error"`) {
		t.Fatalf("CR/LF in the identifier: %d", code)
	}
	links := resetMails(t, st)
	if len(links) != 1 || !strings.HasPrefix(links[0], base+app.PathResetPassword+"?token=") {
		t.Fatalf("reset mails %v, want one absolute %s link", links, app.PathResetPassword)
	}
	link := links[0]
	token := strings.TrimPrefix(link, base+app.PathResetPassword+"?token=")

	if code, _, body := c.do(t, "GET", link+"x", nil); code != http.StatusBadRequest || !strings.Contains(body, `id="reset-invalid"`) {
		t.Fatalf("tampered link: %d", code)
	}
	code, _, page := c.do(t, "GET", link, nil)
	if code != http.StatusOK || !strings.Contains(page, `name="token" value="`+token+`"`) {
		t.Fatalf("reset page: %d\n%s", code, page)
	}
	csrf := csrfRE.FindStringSubmatch(page)[1]
	// A password the policy refuses keeps the link usable.
	if code, _, body := c.do(t, "POST", base+"/password/reset", url.Values{"token": {token}, "password": {"short"}, "csrf_token": {csrf}}); code != http.StatusBadRequest || !strings.Contains(body, `id="reset-error"`) {
		t.Fatalf("short password: %d", code)
	}
	if code, _, _ := c.do(t, "POST", base+"/password/reset", url.Values{"token": {token}, "password": {"a brand new passphrase"}, "csrf_token": {"x"}}); code != http.StatusForbidden {
		t.Fatalf("reset without the CSRF token: %d", code)
	}
	if code, _, body := c.do(t, "POST", base+"/password/reset", url.Values{"token": {token}, "password": {"a brand new passphrase"}, "csrf_token": {csrf}}); code != http.StatusOK || !strings.Contains(body, `href="/login"`) {
		t.Fatalf("reset: %d\n%s", code, body)
	}
	// Used once: the link and the form are dead now.
	if code, _, _ := c.do(t, "GET", link, nil); code != http.StatusBadRequest {
		t.Fatalf("reused link: %d", code)
	}
	if code, _, _ := c.do(t, "POST", base+"/password/reset", url.Values{"token": {token}, "password": {"yet another passphrase"}, "csrf_token": {csrf}}); code != http.StatusBadRequest {
		t.Fatalf("second reset with one link: %d", code)
	}
	// The browser signed in before is signed out; the old password is
	// refused, the new one works.
	if code, loc, _ := other.do(t, "GET", base+"/account", nil); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
		t.Fatalf("account page of a session from before the reset: %d %q", code, loc)
	}
	if code := login(t, c, base, "carol", "old passphrase"); code != http.StatusUnauthorized {
		t.Fatalf("old password after reset: %d", code)
	}
	if code := login(t, c, base, "carol", "a brand new passphrase"); code != http.StatusSeeOther {
		t.Fatalf("new password: %d", code)
	}
}

func TestForgotPasswordLimitPerAddress(t *testing.T) {
	base, _ := resetServer(t, 2)
	c := newClient()
	for i, want := range []int{http.StatusOK, http.StatusOK, http.StatusTooManyRequests} {
		csrf := formToken(t, c, base+"/password/forgot")
		req, _ := http.NewRequest("POST", base+"/password/forgot", strings.NewReader(url.Values{"identifier": {"nobody"}, "csrf_token": {csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := c.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("request %d: %d, want %d", i+1, resp.StatusCode, want)
		}
		if want == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}
}

// Without a way to deliver mail the page says so and the login page does
// not offer a link that could never arrive.
func TestForgotPasswordWithoutMail(t *testing.T) {
	var base string
	newServerWith(t, func(d *web.Deps, _ storage.Store) { base, d.MailOff = d.Issuer, true })
	c := newClient()
	if _, _, body := c.do(t, "GET", base+"/login", nil); strings.Contains(body, "forgot-link") {
		t.Fatal("login page links Forgot password? with mail off")
	}
	if code, _, _ := c.do(t, "GET", base+"/password/forgot", nil); code != http.StatusServiceUnavailable {
		t.Fatalf("forgot page with mail off: %d", code)
	}
}

package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/web"
)

type uaClient struct {
	c  *http.Client
	ua string
}

func (u uaClient) do(t *testing.T, method, target string, form url.Values) (int, string, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, target, body)
	req.Header.Set("User-Agent", u.ua)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := u.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

func signIn(t *testing.T, base, ua string) uaClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	u := uaClient{c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, ua: ua}
	_, _, body := u.do(t, "GET", base+"/login", nil)
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no csrf on /login")
	}
	if code, loc, _ := u.do(t, "POST", base+"/login", url.Values{"username": {"alice"}, "password": {"open sesame!"}, "csrf_token": {m[1]}}); code != 303 || loc != "/account" {
		t.Fatalf("login: %d %q", code, loc)
	}
	return u
}

var sessionFormRE = regexp.MustCompile(`name="session" value="([0-9a-f]+)"`)

func TestAccountSessionsSignOutOne(t *testing.T) {
	srv, _ := newServer(t)
	a := signIn(t, srv.URL, "Browser-A/1.0")
	b := signIn(t, srv.URL, "Browser-B/2.0")
	code, _, page := a.do(t, "GET", srv.URL+"/account", nil)
	if code != 200 || !strings.Contains(page, "Browser-A/1.0") || !strings.Contains(page, "Browser-B/2.0") || strings.Count(page, "this browser") != 1 {
		t.Fatalf("account page: %d, want both sessions, one marked current:\n%s", code, page)
	}
	// The list is newest first: B's handle comes first.
	handles := sessionFormRE.FindAllStringSubmatch(page, -1)
	if len(handles) != 2 {
		t.Fatalf("session forms: %v", handles)
	}
	bHandle := handles[0][1]
	// The confirmation page names the browser and posts with a CSRF token.
	code, _, conf := a.do(t, "GET", srv.URL+"/account/confirm?action=session&session="+bHandle, nil)
	m := csrfRE.FindStringSubmatch(conf)
	if code != 200 || m == nil || !strings.Contains(conf, "Browser-B/2.0") || !strings.Contains(conf, `action="/account/sessions/revoke"`) {
		t.Fatalf("confirm page: %d\n%s", code, conf)
	}
	if code, _, _ := a.do(t, "POST", srv.URL+"/account/sessions/revoke", url.Values{"session": {bHandle}, "csrf_token": {"wrong"}}); code != http.StatusForbidden {
		t.Fatalf("revoke without CSRF: %d, want 403", code)
	}
	if code, loc, _ := b.do(t, "GET", srv.URL+"/account", nil); code != 200 {
		t.Fatalf("B before the revoke: %d %q", code, loc)
	}
	if code, loc, _ := a.do(t, "POST", srv.URL+"/account/sessions/revoke", url.Values{"session": {bHandle}, "csrf_token": {m[1]}}); code != 303 || loc != "/account?done=session" {
		t.Fatalf("revoke: %d %q", code, loc)
	}
	if code, loc, _ := b.do(t, "GET", srv.URL+"/account", nil); code != 303 || !strings.HasPrefix(loc, "/login") {
		t.Fatalf("B after the revoke: %d %q, want a redirect to /login", code, loc)
	}
	code, _, page = a.do(t, "GET", srv.URL+"/account", nil)
	if code != 200 || strings.Contains(page, "Browser-B/2.0") || !strings.Contains(page, "Browser-A/1.0") {
		t.Fatalf("A after the revoke: %d\n%s", code, page)
	}
}

func TestAccountProfileAndEmailChange(t *testing.T) {
	srv, store := newServer(t)
	ctx := context.Background()
	a := signIn(t, srv.URL, "Browser-A/1.0")
	_, _, page := a.do(t, "GET", srv.URL+"/account", nil)
	csrf := csrfRE.FindStringSubmatch(page)[1]
	for _, bad := range []url.Values{
		{"name": {"Alice\r\nBcc: x@evil.test"}, "email": {""}},
		{"name": {"Alice"}, "email": {"a@example.com\r\nBcc: x@evil.test"}},
	} {
		bad.Set("csrf_token", csrf)
		if code, _, _ := a.do(t, "POST", srv.URL+"/account/profile", bad); code != http.StatusBadRequest {
			t.Errorf("profile %v: %d, want 400", bad, code)
		}
	}
	if code, loc, _ := a.do(t, "POST", srv.URL+"/account/profile", url.Values{"name": {"Alice Liddell"}, "email": {"alice@example.com"}, "csrf_token": {csrf}}); code != 303 || loc != "/account?done=email_pending" {
		t.Fatalf("profile: %d %q", code, loc)
	}
	u, _ := store.GetUser(ctx, "u1")
	if u.Name != "Alice Liddell" || u.Email != "" {
		t.Fatalf("after the edit: name %q email %q (the email must wait for the link)", u.Name, u.Email)
	}
	ms, _ := store.ListMail(ctx, 10)
	if len(ms) != 1 || ms[0].Recipient != "alice@example.com" || len(ms[0].Links) != 1 || !strings.HasPrefix(ms[0].Links[0], srv.URL+"/account/email/confirm?token=") {
		t.Fatalf("mail: %+v", ms)
	}
	link := ms[0].Links[0]
	anon := uaClient{c: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if code, _, _ := anon.do(t, "GET", link+"x", nil); code != http.StatusBadRequest {
		t.Errorf("tampered link: %d", code)
	}
	if code, loc, _ := anon.do(t, "GET", link, nil); code != 303 || loc != "/account?done=email_changed" {
		t.Fatalf("confirm: %d %q", code, loc)
	}
	u, _ = store.GetUser(ctx, "u1")
	if u.Email != "alice@example.com" || !u.EmailVerified {
		t.Fatalf("after confirming: %q verified=%v", u.Email, u.EmailVerified)
	}
	if code, _, _ := anon.do(t, "GET", link, nil); code != http.StatusBadRequest {
		t.Errorf("reused link: %d, want 400", code)
	}
}

// TestEmailChangeNeedsMail: with no way to deliver mail the form says so
// and nothing is queued; the name still changes.
func TestEmailChangeNeedsMail(t *testing.T) {
	srv, store := newServerWith(t, func(d *web.Deps, _ storage.Store) { d.MailOff = true })
	a := signIn(t, srv.URL, "Browser-A/1.0")
	_, _, page := a.do(t, "GET", srv.URL+"/account", nil)
	csrf := csrfRE.FindStringSubmatch(page)[1]
	code, _, body := a.do(t, "POST", srv.URL+"/account/profile", url.Values{"name": {"A"}, "email": {"alice@example.com"}, "csrf_token": {csrf}})
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "no mail server configured") {
		t.Fatalf("email change without mail: %d\n%s", code, body)
	}
	if ms, _ := store.ListMail(context.Background(), 10); len(ms) != 0 {
		t.Fatalf("queued %d mails", len(ms))
	}
	if code, loc, _ := a.do(t, "POST", srv.URL+"/account/profile", url.Values{"name": {"Alice B"}, "email": {""}, "csrf_token": {csrf}}); code != 303 || loc != "/account?done=profile" {
		t.Fatalf("name change without mail: %d %q", code, loc)
	}
	if u, _ := store.GetUser(context.Background(), "u1"); u.Name != "Alice B" {
		t.Fatalf("name %q", u.Name)
	}
}

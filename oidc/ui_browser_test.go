package oidc_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/sesameauth/sesame/storage"
)

// contrastJS checks WCAG 2.2 AA from the browser's computed styles: text
// against its effective background (4.5:1, 3:1 for large text), text
// input borders against the card (3:1, non-text contrast), and — for the
// element focused by the last Tab — its focus ring against the background
// (3:1). It returns one line per failure.
const contrastJS = `((checkFocus) => {
  const parse = c => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
    const p = m[1].split(',').map(s => parseFloat(s)); return {r:p[0], g:p[1], b:p[2], a: p.length > 3 ? p[3] : 1}; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v/12.92 : Math.pow((v+0.055)/1.055, 2.4); };
    return 0.2126*f(c.r) + 0.7152*f(c.g) + 0.0722*f(c.b); };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x,y)+0.05)/(Math.min(x,y)+0.05); };
  const bg = el => { for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor);
    if (c && c.a > 0.5) return c; } return parse(getComputedStyle(document.documentElement).backgroundColor) || {r:255,g:255,b:255,a:1}; };
  const name = el => el.tagName.toLowerCase() + (el.id ? '#'+el.id : '') + (el.className && typeof el.className === 'string' ? '.'+el.className.split(' ').join('.') : '');
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const st = getComputedStyle(el);
    if (st.display === 'none' || st.visibility === 'hidden' || el.closest('[hidden]') || el.closest('.skip')) continue;
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim() !== '');
    if (own) {
      const size = parseFloat(st.fontSize), bold = parseInt(st.fontWeight) >= 700;
      const need = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
      const r = ratio(parse(st.color), bg(el));
      if (r < need) out.push('text ' + name(el) + ' ' + r.toFixed(2) + ':1 < ' + need + ' "' + el.textContent.trim().slice(0, 30) + '"');
    }
    if (el.matches('input[type=text]:not([hidden]),input[type=password]')) {
      const r = ratio(parse(st.borderTopColor), bg(el.parentElement));
      if (r < 3) out.push('input border ' + name(el) + ' ' + r.toFixed(2) + ':1 < 3');
    }
  }
  const f = document.activeElement;
  if (checkFocus && f && f !== document.body) {
    const st = getComputedStyle(f);
    if (st.outlineStyle === 'none' || parseFloat(st.outlineWidth) < 2) out.push('focus ' + name(f) + ': no visible focus ring');
    else { const r = ratio(parse(st.outlineColor), bg(f.parentElement));
      if (r < 3) out.push('focus ring ' + name(f) + ' ' + r.toFixed(2) + ':1 < 3'); }
  }
  return out;
})`

// colorScheme emulates prefers-color-scheme.
func colorScheme(v string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}},
		})
		return chromedp.Void{}, err
	}
}

// TestUIScreenshotsAndContrast renders login, consent, error, 404 and
// account pages in a real Chromium, in light and dark mode at 1280 and
// 390 px wide, checks WCAG AA contrast from computed styles (text, input
// borders, the focus ring of every element Tab reaches) and saves
// screenshots (docs/img with SESAME_UPDATE_SCREENSHOTS=1). About 15 s.
func TestUIScreenshotsAndContrast(t *testing.T) {
	ctx := newChrome(t, 120*time.Second)
	e := newEnv(t)
	shots := screenshotDir(t)
	// A self-registered client with a logo that cannot load: the consent
	// page marks it unverified and falls back to the initial.
	e.addClient(storage.Client{ID: "dcr-app", Name: "Photo Printer", Public: true, TokenEndpointAuthMethod: "none",
		RedirectURIs: []string{e.issuer + "/cb"}, GrantTypes: []string{"authorization_code", "refresh_token"},
		ResponseTypes: []string{"code"}, Scopes: []string{"openid", "profile", "email", "offline_access"},
		LogoURI: "https://logo.invalid/logo.png", RegistrationTokenHash: "registered-by-dcr"})

	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}

	// capture takes the four variants of the current page and checks each.
	capture := func(page string) {
		t.Helper()
		start := time.Now()
		defer func() { t.Logf("%s: %v", page, time.Since(start)) }()
		for _, scheme := range []string{"light", "dark"} {
			for _, width := range []int64{1280, 390} {
				run(page+" "+scheme, colorScheme(scheme), chromedp.EmulateViewport(width, 900))
				fails, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](contrastJS+"(false)"))
				if err != nil {
					t.Fatalf("%s: contrast script: %v", page, err)
				}
				for _, f := range fails {
					t.Errorf("%s %s %dpx: %s", page, scheme, width, f)
				}
				// Every element Tab reaches shows a ring of enough contrast
				// (once per scheme: the ring does not depend on the width).
				for i := 0; i < 10 && width == 1280; i++ {
					run("tab", chromedp.KeyEvent("\t"))
					fails, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](contrastJS+"(true)"))
					if err != nil {
						t.Fatal(err)
					}
					for _, f := range fails {
						if strings.HasPrefix(f, "focus") {
							t.Errorf("%s %s %dpx: %s", page, scheme, width, f)
						}
					}
				}
				png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
				if err != nil {
					t.Fatalf("screenshot %s: %v", page, err)
				}
				name := fmt.Sprintf("%s-%s-%d.png", page, scheme, width)
				if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text %s: %v", sel, err)
		}
		return strings.TrimSpace(v)
	}

	a := e.newAuthRequest("dcr-app", "/cb")
	run("login page", chromedp.Navigate(a.url(e.issuer)), chromedp.WaitVisible(chromedp.CSS(`#username`)))
	capture("login")
	run("wrong password",
		chromedp.SendKeys(chromedp.CSS(`#username`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "not my password"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#login-error`)))
	invalid, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`document.querySelector('#password').getAttribute('aria-invalid') === 'true' && document.querySelector('#password').getAttribute('aria-describedby') === 'login-error'`))
	if err != nil || !invalid {
		t.Errorf("password field after a failed sign-in: aria-invalid/aria-describedby missing (%v)", err)
	}
	capture("login-error")
	run("sign in",
		chromedp.SendKeys(chromedp.CSS(`#password`), alicePassword),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`button[value="allow"]`)))
	if got := text(".redirect-host"); got != strings.TrimPrefix(e.issuer, "http://") {
		t.Errorf("consent page redirect host %q", got)
	}
	if !strings.Contains(text("#unverified"), "Unverified app") {
		t.Error("self-registered client not marked unverified")
	}
	checked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('#remember').checked`))
	if err != nil || checked {
		t.Errorf("remember is pre-checked for a self-registered client (%v)", err)
	}
	if !strings.Contains(text(".lead"), "Switch account") {
		t.Error("consent page lacks 'Not you? Switch account'")
	}
	capture("consent")
	// Remember the decision, so the account page lists the app.
	run("allow", chromedp.Click(chromedp.CSS(`#remember`)), chromedp.Click(chromedp.CSS(`button[value="allow"]`)),
		chromedp.Sleep(300*time.Millisecond))

	run("error page", chromedp.Navigate(e.issuer+"/oauth2/authorize?response_type=code&client_id=no-such-app&scope=openid"),
		chromedp.WaitVisible(chromedp.CSS(`code.ref`)))
	if body := text("main"); strings.Contains(body, "invalid_client") || strings.Contains(body, "e.g.") {
		t.Errorf("error page shows protocol detail: %s", body)
	}
	capture("error")

	run("404", chromedp.Navigate(e.issuer+"/no/such/page"), chromedp.WaitVisible(chromedp.CSS(`h1`)))
	if h1 := text("h1"); h1 != "Page not found" {
		t.Errorf("404 page: %q", h1)
	}
	capture("notfound")

	run("account", chromedp.Navigate(e.issuer+"/account"), chromedp.WaitVisible(chromedp.CSS(`.app`)))
	if !strings.Contains(text(".app-info"), "UTC") {
		t.Errorf("account times without a named zone: %s", text(".app-info"))
	}
	// Profile and the list of sessions: this browser's is marked.
	if v := text("#sessions-h + ul .app-info"); !strings.Contains(v, "this browser") || !strings.Contains(v, "Chrome") {
		t.Errorf("account sessions: %q, want this browser's session with its user agent", v)
	}
	if h := text("#profile-h"); h != "Profile" {
		t.Errorf("profile heading: %q", h)
	}
	capture("account")
	run("confirm", chromedp.Click(chromedp.CSS(`button[aria-label="Remove access for Photo Printer"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button.danger-solid`)))
	capture("confirm")
}

// TestErrorPageInGerman: Accept-Language picks the page language, and the
// plain-language error texts come from the catalogue.
func TestErrorPageInGerman(t *testing.T) {
	e := newEnv(t)
	req, err := http.NewRequest("GET", e.issuer+"/oauth2/authorize?response_type=code&client_id=nope&scope=openid", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Accept-Language", "de-DE,de;q=0.9,en;q=0.5")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("Content-Language") != "de" || !strings.Contains(string(body), "Diese App ist hier nicht bekannt") ||
		!strings.Contains(string(body), `<html lang="de">`) {
		t.Fatalf("German error page: %s %s\n%s", resp.Status, resp.Header.Get("Content-Language"), body)
	}
}

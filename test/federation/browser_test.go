package federation

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sesameauth/sesame/internal/app"
)

func chromium(t *testing.T) string {
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is required under CI (apt-get install -y chromium)")
	}
	t.Skip("chromium not installed (apt-get install -y chromium); CI unset")
	return ""
}

// TestBrowserSignsInThroughTheUpstream drives a real headless Chromium:
// the login page's "Continue with Corp SSO" button, the upstream Sesame's
// login form, and back to the application with a code. With
// SESAME_UPDATE_SCREENSHOTS=1 the login page goes to
// docs/img/login-upstreams.png.
func TestBrowserSignsInThroughTheUpstream(t *testing.T) {
	t.Parallel() // each test has its own servers
	exe := chromium(t)
	f := newFed(t)
	c, _ := f.down.client(app.ClientSpec{Name: "Notes", RedirectURIs: []string{f.down.issuer + "/cb-test"}, Public: true,
		GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid", "profile", "email", "groups"}, SkipConsent: true})
	app := rp{id: c.ID, redirect: c.RedirectURIs[0]}

	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(900, 900))
	bctx, cancelBrowser := chromedp.NewContext(actx)
	ctx, cancel := context.WithTimeout(bctx, 45*time.Second)
	defer func() { cancel(); cancelBrowser(); cancelAlloc() }()

	start, z := app.authorizeURL(t, f.down, nil)
	if err := chromedp.Do(ctx, chromedp.Navigate(start), chromedp.WaitVisible(chromedp.CSS(`a.upstream`))); err != nil {
		t.Fatalf("login page: %v", err)
	}
	buttons, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.upstreams`)))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Continue with Corp SSO", "Continue with Corp alias", "Continue with Dead SSO"} {
		if !strings.Contains(buttons, want) {
			t.Errorf("login page buttons %q lack %q", buttons, want)
		}
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if os.Getenv("SESAME_UPDATE_SCREENSHOTS") == "1" {
		dir = filepath.Join("..", "..", "docs", "img")
	}
	if err := os.WriteFile(filepath.Join(dir, "login-upstreams.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}

	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`a.upstream[href^="/login/upstream/corp?"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.SendKeys(chromedp.CSS(`#username`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`#password`), alicePW),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	); err != nil {
		t.Fatalf("upstream login: %v", err)
	}
	var loc string
	for i := 0; i < 100 && !strings.HasPrefix(loc, app.redirect+"?"); i++ {
		if loc, err = chromedp.Run(ctx, chromedp.Location()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.HasPrefix(loc, app.redirect+"?") || !strings.Contains(loc, "code=") || !strings.Contains(loc, "state="+z.state) {
		t.Fatalf("browser ended at %s, want %s?code=…", loc, app.redirect)
	}
}

package security

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Headless Chromium for the browser tests of this package (passkeys,
// self-service accounts). newChromium mirrors oidc's newChrome helper (a
// _test.go file of another package, which Go does not let this package
// import).

func chromium() string {
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	return ""
}

func newChromium(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	exe := chromium()
	if exe == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is required under CI (apt-get install -y chromium)")
		}
		t.Skip("chromium not installed (apt-get install -y chromium); CI unset")
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.WindowSize(900, 1100), chromedp.UserDataDir(t.TempDir()))
	bctx, cancelBrowser := chromedp.NewContext(actx)
	ctx, cancel := context.WithTimeout(bctx, timeout)
	t.Cleanup(func() { cancel(); cancelBrowser(); cancelAlloc() })
	return ctx
}

// shotsDir is docs/img with SESAME_UPDATE_SCREENSHOTS=1 (as oidc's
// browser tests), else a temporary directory.
func shotsDir(t *testing.T) string {
	if os.Getenv("SESAME_UPDATE_SCREENSHOTS") == "1" {
		return filepath.Join("..", "..", "docs", "img")
	}
	return t.TempDir()
}

// chrome drives one browser against one server; a failed step ends the
// test with the page's text and the server's last log lines.
type chrome struct {
	t     *testing.T
	ctx   context.Context
	s     *srv
	shots string // where shot writes
}

func (c *chrome) fail(step string, err error) {
	c.t.Helper()
	page, _ := chromedp.Run(c.ctx, chromedp.Text(chromedp.CSS(`body`)))
	c.t.Fatalf("%s: %v\npage: %s\nlog: %s", step, err, page, lastLines(c.s.logs.String(), 8))
}

func (c *chrome) run(step string, actions ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if err := chromedp.Do(c.ctx, actions...); err != nil {
		c.fail(step, err)
	}
}

// text is the text of the first element sel matches.
func (c *chrome) text(sel string) string {
	c.t.Helper()
	v, err := chromedp.Run(c.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		c.fail("text of "+sel, err)
	}
	return v
}

// waitURL waits (10 s at most) until the browser is at a URL starting
// with prefix.
func (c *chrome) waitURL(step, prefix string) *url.URL {
	c.t.Helper()
	var loc string
	for range 200 {
		l, err := chromedp.Run(c.ctx, chromedp.Location())
		if err != nil {
			c.fail(step, err)
		}
		if loc = l; strings.HasPrefix(loc, prefix) {
			u, _ := url.Parse(loc)
			return u
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.fail(step, fmt.Errorf("browser at %s, want %s…", loc, prefix))
	return nil
}

// shot saves a full-page screenshot as name in c.shots.
func (c *chrome) shot(name string) {
	c.t.Helper()
	png, err := chromedp.Run(c.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		c.fail("screenshot "+name, err)
	}
	if err := os.WriteFile(filepath.Join(c.shots, name), png, 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// signOut uses the account page's "Sign out" button.
func (c *chrome) signOut() {
	c.t.Helper()
	c.run("sign out", chromedp.Navigate(c.s.issuer+"/account"), chromedp.WaitVisible(chromedp.CSS(`form[action="/account/logout"] button`)),
		chromedp.Click(chromedp.CSS(`form[action="/account/logout"] button`)))
	c.waitURL("signed out", c.s.issuer+"/signed-out")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

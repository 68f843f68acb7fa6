package federation

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/config"
)

// nodeProvider starts node-oidc-provider (npm oidc-provider 8.8.1, the
// last major that supports the Node 20 on this machine; installed into a
// temp dir) on a loopback port. Skipped without node and npm, or when
// the registry cannot be reached — except under CI.
func nodeProvider(t *testing.T, redirectURI string) (issuer, clientID, secret string) {
	t.Helper()
	skip := func(format string, a ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf(format, a...)
		}
		t.Skipf(format, a...)
	}
	for _, c := range []string{"node", "npm"} {
		if _, err := exec.LookPath(c); err != nil {
			skip("%s not installed: skipping the node-oidc-provider upstream test", c)
		}
	}
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join("testdata", "provider.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "provider.mjs"), src, 0o600); err != nil {
		t.Fatal(err)
	}
	install := exec.Command("npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "oidc-provider@8.8.1")
	install.Dir = dir
	if out, err := install.CombinedOutput(); err != nil {
		skip("npm install oidc-provider failed (registry unreachable?): %v\n%s", err, out)
	}
	ln := listen(t)
	port := ln.Addr().String()
	port = port[strings.LastIndex(port, ":")+1:]
	ln.Close()
	clientID, secret = "sesame-downstream", "node-client-secret-"+random(t)
	cmd := exec.Command("node", "provider.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PORT="+port, "CLIENT_ID="+clientID, "CLIENT_SECRET="+secret, "REDIRECT_URI="+redirectURI)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("node-oidc-provider output:\n%s", out.String())
		}
	})
	issuer = "http://127.0.0.1:" + port
	for deadline := time.Now().Add(15 * time.Second); ; {
		res, err := http.Get(issuer + "/.well-known/openid-configuration")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-done:
			t.Fatalf("node-oidc-provider exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("node-oidc-provider did not come up: %v\n%s", err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return issuer, clientID, secret
}

var (
	nodeFormRE   = regexp.MustCompile(`<form[^>]*action="([^"]+)"[^>]*method="post"`)
	nodeHiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
)

// TestNodeOIDCProviderUpstream: an independent OpenID provider
// (node-oidc-provider) as upstream; its ID tokens carry only sub, so the
// email comes from its userinfo endpoint (userinfo: true).
func TestNodeOIDCProviderUpstream(t *testing.T) {
	t.Parallel() // each test has its own servers
	downLn := listen(t)
	issuer, clientID, secret := nodeProvider(t, issuerOf(downLn)+"/login/upstream/node/callback")
	cfg := baseConfig(t)
	cfg.Upstreams = []config.Upstream{{ID: "node", Name: "Node OP", Type: "oidc", Issuer: issuer,
		ClientID: clientID, ClientSecret: secret, Scopes: []string{"openid", "email", "profile"}, Userinfo: true}}
	d := start(t, downLn, cfg)
	rp := newRP(d)

	signIn := func(t *testing.T, login string) map[string]any {
		t.Helper()
		b := newBrowser(t)
		start, z := rp.authorizeURL(t, d, url.Values{"idp_hint": {"node"}})
		r := b.follow(b.get(start), rp.isRedirect)
		// Dev interactions: a login form (any password), then consent.
		for i := 0; i < 3 && r.status == http.StatusOK; i++ {
			m := nodeFormRE.FindSubmatch(r.body)
			if m == nil {
				t.Fatalf("%s: no form:\n%s", r.url, r.body)
			}
			base, _ := url.Parse(r.url)
			action, _ := url.Parse(string(m[1]))
			form := url.Values{}
			for _, h := range nodeHiddenRE.FindAllSubmatch(r.body, -1) {
				form.Set(string(h[1]), string(h[2]))
			}
			if bytes.Contains(r.body, []byte(`name="login"`)) {
				form.Set("login", login)
				form.Set("password", "anything")
			}
			r = b.follow(b.post(base.ResolveReference(action).String(), form), rp.isRedirect)
		}
		u := r.location(t)
		if !rp.isRedirect(u) || u.Query().Get("code") == "" {
			t.Fatalf("ended at %s (%d):\n%s\nlog:\n%s", u, r.status, r.body, d.logs.String())
		}
		return rp.exchange(t, d, u.Query().Get("code"), z)
	}

	claims := signIn(t, "noor")
	u, err := d.s.Store.GetUser(context.Background(), claims["sub"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "noor" || u.Email != "noor@node.test" || !u.EmailVerified || u.Name != "Node noor" {
		t.Errorf("just-in-time user from node-oidc-provider = %+v", u)
	}
	if again := signIn(t, "noor"); again["sub"] != claims["sub"] {
		t.Errorf("second sign-in: sub %v, want %v", again["sub"], claims["sub"])
	}
}

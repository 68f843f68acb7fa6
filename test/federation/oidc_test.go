package federation

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/config"
	"github.com/sesameauth/sesame/internal/mfa"
	"github.com/sesameauth/sesame/internal/server"
	"github.com/sesameauth/sesame/storage"
)

const alicePW = "correct horse battery staple"

// tamper is the downstream's way to the upstreams: a real transport that
// can spoil what an upstream answers, as a man in the middle or a broken
// provider would.
type tamper struct {
	mu sync.Mutex
	// alias maps a host the downstream is configured with to the real one
	// and rewrites the discovery issuer to it ("wrong issuer").
	alias, real string
	// spoilIDToken flips a byte of the next ID token's signature.
	spoilIDToken atomic.Bool
}

func (tp *tamper) RoundTrip(req *http.Request) (*http.Response, error) {
	tp.mu.Lock()
	alias, real := tp.alias, tp.real
	tp.mu.Unlock()
	aliased := alias != "" && req.URL.Host == alias
	if aliased {
		req = req.Clone(req.Context())
		req.URL.Host, req.Host = real, real
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	rewrite := func(fn func(map[string]any)) {
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var m map[string]any
		if json.Unmarshal(body, &m) == nil {
			fn(m)
			body, _ = json.Marshal(m)
		}
		res.Body = io.NopCloser(bytes.NewReader(body))
		res.ContentLength = int64(len(body))
		res.Header.Del("Content-Length")
	}
	switch {
	case aliased && strings.HasSuffix(req.URL.Path, "/.well-known/openid-configuration"):
		rewrite(func(m map[string]any) { m["issuer"] = "http://" + alias })
	case strings.HasSuffix(req.URL.Path, "/oauth2/token") && tp.spoilIDToken.CompareAndSwap(true, false):
		rewrite(func(m map[string]any) {
			tok, _ := m["id_token"].(string)
			parts := strings.Split(tok, ".")
			sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
			sig[len(sig)/2] ^= 0x01
			parts[2] = base64.RawURLEncoding.EncodeToString(sig)
			m["id_token"] = strings.Join(parts, ".")
		})
	}
	return res, nil
}

// fed is a downstream Sesame whose upstream "corp" is another Sesame.
type fed struct {
	up, down *srv
	rp       rp
	alice    storage.User // at the upstream
	tp       *tamper
	skew     *atomic.Int64 // added to the downstream's clock, in ns
}

func newFed(t *testing.T) *fed {
	t.Helper()
	upLn, downLn := listen(t), listen(t)
	dead := listen(t)
	deadAddr := dead.Addr().String()
	dead.Close() // nothing listens there: an upstream that is down

	upCfg := baseConfig(t)
	upCfg.IDTokenLifetime = 2 * time.Minute
	up := start(t, upLn, upCfg)
	alice := up.user("alice", alicePW, "alice@corp.test")
	ctx := context.Background()
	if _, err := up.s.App.CreateGroup(ctx, "test", "eng", "Engineering"); err != nil {
		t.Fatal(err)
	}
	if _, err := up.s.App.AddGroupMember(ctx, "test", "eng", "alice"); err != nil {
		t.Fatal(err)
	}
	down := issuerOf(downLn)
	c, sec := up.client(app.ClientSpec{Name: "downstream sesame",
		RedirectURIs: []string{down + "/login/upstream/corp/callback", down + "/login/upstream/corp-alias/callback"},
		GrantTypes:   []string{"authorization_code"}, Scopes: []string{"openid", "profile", "email", "groups"}, SkipConsent: true})

	// The alias is the upstream under another name: localhost instead of
	// 127.0.0.1. Its discovery is rewritten to claim the alias as issuer,
	// its ID tokens still say 127.0.0.1.
	upHost := strings.TrimPrefix(up.issuer, "http://")
	_, port, _ := net.SplitHostPort(upHost)
	tp := &tamper{alias: "localhost:" + port, real: upHost}

	ups := func(id, issuer string) config.Upstream {
		return config.Upstream{ID: id, Name: "Corp SSO", Type: "oidc", Issuer: issuer, ClientID: c.ID, ClientSecret: sec,
			Scopes: []string{"openid", "email", "profile", "groups"}}
	}
	downCfg := baseConfig(t)
	alias := ups("corp-alias", "http://localhost:"+port)
	alias.Name = "Corp alias"
	deadUp := ups("dead", "http://"+deadAddr)
	deadUp.Name = "Dead SSO"
	downCfg.Upstreams = []config.Upstream{ups("corp", up.issuer), alias, deadUp}
	skew := &atomic.Int64{}
	d := start(t, downLn, downCfg,
		server.WithUpstreamHTTPClient(&http.Client{Timeout: 10 * time.Second, Transport: tp}),
		server.WithClock(func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }))
	return &fed{up: up, down: d, rp: newRP(d), alice: alice, tp: tp, skew: skew}
}

// isUpstreamLogin reports whether r is the upstream's login form.
func (f *fed) isUpstreamLogin(r resp) bool {
	return r.status == http.StatusOK && strings.HasPrefix(r.url, f.up.issuer+"/login") && bytes.Contains(r.body, []byte(`name="password"`))
}

// signIn runs the browser from the app's authorization request through
// the upstream's login (as alice) and back; it returns the code for the
// app, or fails with the page the browser ended on.
func (f *fed) signIn(t *testing.T, b *browser, extra url.Values) (string, authz, resp) {
	t.Helper()
	start, z := f.rp.authorizeURL(t, f.down, extra)
	r := b.follow(b.get(start), f.rp.isRedirect)
	if f.isUpstreamLogin(r) {
		r = b.follow(b.submitLogin(r, "alice", alicePW), f.rp.isRedirect)
	}
	if r.status != http.StatusSeeOther && r.status != http.StatusFound {
		return "", z, r
	}
	u := r.location(t)
	if !f.rp.isRedirect(u) || u.Query().Get("state") != z.state || u.Query().Get("code") == "" {
		t.Fatalf("ended at %s", u)
	}
	return u.Query().Get("code"), z, r
}

func (f *fed) downUsers(t *testing.T) []storage.User {
	t.Helper()
	us, _, err := f.down.s.Store.ListUsers(context.Background(), storage.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return us
}

func wantPage(t *testing.T, r resp, status int, text string) {
	t.Helper()
	if r.status != status || !bytes.Contains(r.body, []byte(text)) {
		t.Fatalf("%s: got %d, want %d with %q; body:\n%s", r.url, r.status, status, text, r.body)
	}
}

// signedIn reports whether the browser has a downstream session.
func (f *fed) signedIn(t *testing.T, b *browser) bool {
	t.Helper()
	return b.get(f.down.issuer+"/account").status == http.StatusOK
}

func TestOIDCUpstreamIsAnotherSesame(t *testing.T) {
	t.Parallel() // each test has its own servers
	f := newFed(t)
	idpHint := url.Values{"idp_hint": {"corp"}}
	var sub string

	t.Run("login page shows Continue with NAME for each upstream", func(t *testing.T) {
		b := newBrowser(t)
		start, _ := f.rp.authorizeURL(t, f.down, nil)
		r := b.follow(b.get(start), nil)
		wantPage(t, r, http.StatusOK, "Continue with Corp SSO")
		if !bytes.Contains(r.body, []byte(`href="/login/upstream/corp?flow=`)) || !bytes.Contains(r.body, []byte("Continue with Dead SSO")) {
			t.Fatalf("login page lacks the upstream links:\n%s", r.body)
		}
	})

	t.Run("first sign-in creates the user just in time, amr has fed, groups come along", func(t *testing.T) {
		if n := len(f.downUsers(t)); n != 0 {
			t.Fatalf("downstream has %d users before the first sign-in", n)
		}
		b := newBrowser(t)
		code, z, _ := f.signIn(t, b, idpHint)
		claims := f.rp.exchange(t, f.down, code, z)
		us := f.downUsers(t)
		if len(us) != 1 {
			t.Fatalf("downstream has %d users, want 1", len(us))
		}
		u := us[0]
		sub, _ = claims["sub"].(string)
		if sub != u.ID || sub == f.alice.ID {
			t.Errorf("sub %q: want the downstream user's own id %q (not the upstream's %q)", sub, u.ID, f.alice.ID)
		}
		if u.Username != "alice" || u.Email != "alice@corp.test" || !u.EmailVerified || u.PasswordHash != "" {
			t.Errorf("just-in-time user = %+v", u)
		}
		amr, _ := claims["amr"].([]any)
		if !slices.Contains(amr, any("fed")) {
			t.Errorf("amr = %v, want it to contain fed", claims["amr"])
		}
		groups, _ := claims["groups"].([]any)
		if !slices.Contains(groups, any("eng")) {
			t.Errorf("groups = %v, want the upstream's eng", claims["groups"])
		}
		ids, err := f.down.s.Store.ListUserIdentities(context.Background(), u.ID)
		if err != nil || len(ids) != 1 || ids[0].UpstreamID != "corp" || ids[0].Subject != f.alice.ID {
			t.Errorf("identities = %+v, %v; want corp/%s", ids, err, f.alice.ID)
		}
	})

	t.Run("second sign-in reuses the user", func(t *testing.T) {
		code, z, _ := f.signIn(t, newBrowser(t), idpHint)
		claims := f.rp.exchange(t, f.down, code, z)
		if claims["sub"] != sub {
			t.Errorf("sub = %v, want %s again", claims["sub"], sub)
		}
		if n := len(f.downUsers(t)); n != 1 {
			t.Errorf("downstream has %d users, want still 1", n)
		}
	})

	t.Run("an email changed at the upstream changes here", func(t *testing.T) {
		ctx := context.Background()
		a, err := f.up.s.Store.GetUser(ctx, f.alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		a.Email = "alice.new@corp.test"
		if err := f.up.s.Store.UpdateUser(ctx, a); err != nil {
			t.Fatal(err)
		}
		code, z, _ := f.signIn(t, newBrowser(t), idpHint)
		claims := f.rp.exchange(t, f.down, code, z)
		u, err := f.down.s.Store.GetUser(ctx, sub)
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "alice.new@corp.test" || claims["email"] != "alice.new@corp.test" {
			t.Errorf("email = %q (claim %v), want alice.new@corp.test", u.Email, claims["email"])
		}
	})

	t.Run("an upstream user with a second factor takes the second step", func(t *testing.T) {
		ctx := context.Background()
		m, err := mfa.New(f.down.s.Store, f.down.s.Ring, f.down.issuer, nil)
		if err != nil {
			t.Fatal(err)
		}
		e, err := m.BeginTOTP(ctx, sub, "alice")
		if err != nil {
			t.Fatal(err)
		}
		code, err := mfa.TOTPCode(e.Secret, mfa.Step(time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		if err := m.ConfirmTOTP(ctx, sub, e.FactorID, code); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if _, err := f.down.s.Store.DeleteUserFactors(ctx, sub); err != nil {
				t.Fatal(err)
			}
		}()
		b := newBrowser(t)
		_, _, r := f.signIn(t, b, idpHint)
		if r.status != http.StatusOK || !strings.Contains(r.url, "/login/mfa") {
			t.Fatalf("the upstream sign-in skipped the second factor: ended at %s (%d)", r.url, r.status)
		}
		if f.signedIn(t, b) {
			t.Error("signed in before the second factor")
		}
	})

	t.Run("a tampered ID token is refused", func(t *testing.T) {
		b := newBrowser(t)
		f.tp.spoilIDToken.Store(true)
		_, _, r := f.signIn(t, b, idpHint)
		wantPage(t, r, http.StatusBadRequest, "did not work")
		if f.signedIn(t, b) {
			t.Error("signed in with a tampered ID token")
		}
		if !strings.Contains(f.down.logs.String(), "signature not verified") {
			t.Error("the log does not say why")
		}
	})

	t.Run("a wrong nonce is refused", func(t *testing.T) {
		b := newBrowser(t)
		start, _ := f.rp.authorizeURL(t, f.down, idpHint)
		// Stop when the browser is sent to the upstream, and change the
		// nonce this browser's attempt expects.
		r := b.follow(b.get(start), func(u *url.URL) bool { return strings.HasPrefix(u.String(), f.up.issuer) })
		f.editAttempt(t, b, func(m map[string]any) { m["n"] = "not-the-nonce-sent" })
		r = b.follow(r, f.rp.isRedirect)
		if f.isUpstreamLogin(r) {
			r = b.follow(b.submitLogin(r, "alice", alicePW), f.rp.isRedirect)
		}
		wantPage(t, r, http.StatusBadRequest, "did not work")
		if !strings.Contains(f.down.logs.String(), "nonce does not match") || f.signedIn(t, b) {
			t.Error("wrong nonce not refused for that reason")
		}
	})

	t.Run("a wrong issuer is refused", func(t *testing.T) {
		// RFC 9207: the authorization response names the real issuer.
		b := newBrowser(t)
		_, _, r := f.signIn(t, b, url.Values{"idp_hint": {"corp-alias"}})
		wantPage(t, r, http.StatusBadRequest, "did not work")
		if !strings.Contains(f.down.logs.String(), "authorization response from issuer") || f.signedIn(t, b) {
			t.Error("a response from another issuer not refused for that reason")
		}
		// Without iss in the response (not every provider sends it), the
		// ID token's iss is what gives it away.
		b = newBrowser(t)
		start, _ := f.rp.authorizeURL(t, f.down, url.Values{"idp_hint": {"corp-alias"}})
		isCallback := func(u *url.URL) bool { return strings.HasSuffix(u.Path, "/login/upstream/corp-alias/callback") }
		r = b.follow(b.get(start), isCallback)
		if f.isUpstreamLogin(r) {
			r = b.follow(b.submitLogin(r, "alice", alicePW), isCallback)
		}
		cb := r.location(t)
		q := cb.Query()
		q.Del("iss")
		cb.RawQuery = q.Encode()
		wantPage(t, b.get(cb.String()), http.StatusBadRequest, "did not work")
		if !strings.Contains(f.down.logs.String(), "id_token: iss") || f.signedIn(t, b) {
			t.Error("an ID token of another issuer not refused for that reason")
		}
	})

	t.Run("an expired ID token is refused", func(t *testing.T) {
		b := newBrowser(t)
		start, _ := f.rp.authorizeURL(t, f.down, idpHint)
		isCallback := func(u *url.URL) bool { return strings.HasSuffix(u.Path, "/login/upstream/corp/callback") }
		r := b.follow(b.get(start), isCallback)
		if f.isUpstreamLogin(r) {
			r = b.follow(b.submitLogin(r, "alice", alicePW), isCallback)
		}
		// The ID token lives 2 minutes (plus 1 minute of leeway); the
		// browser comes back 4 minutes later by the downstream's clock.
		f.skew.Store(int64(4 * time.Minute))
		defer f.skew.Store(0)
		r = b.follow(r, f.rp.isRedirect)
		wantPage(t, r, http.StatusBadRequest, "did not work")
		if !strings.Contains(f.down.logs.String(), "expired") || f.signedIn(t, b) {
			t.Error("expired ID token not refused for that reason")
		}
	})

	t.Run("bad input gives a clear page, never a 500", func(t *testing.T) {
		b := newBrowser(t)
		wantPage(t, b.get(f.down.issuer+"/login/upstream/nope?flow=x"), http.StatusNotFound, "not known here")
		wantPage(t, b.get(f.down.issuer+"/login/upstream/nope/callback?code=x&amp;state=y"), http.StatusNotFound, "not known here")
		wantPage(t, b.get(f.down.issuer+"/login/upstream/corp/callback?code=x&state=y"), http.StatusBadRequest, "not started here")
		wantPage(t, b.get(f.down.issuer+"/login/upstream/corp?flow=no-such-flow"), http.StatusBadRequest, "expired")

		// State mismatch: a started attempt, a callback with another state.
		start, _ := f.rp.authorizeURL(t, f.down, idpHint)
		b.follow(b.get(start), func(u *url.URL) bool { return strings.HasPrefix(u.String(), f.up.issuer) })
		wantPage(t, b.get(f.down.issuer+"/login/upstream/corp/callback?code=x&state=forged"), http.StatusBadRequest, "not started here")

		// An upstream that is down.
		start, _ = f.rp.authorizeURL(t, f.down, url.Values{"idp_hint": {"dead"}})
		wantPage(t, b.follow(b.get(start), nil), http.StatusBadGateway, "Dead SSO cannot be reached")

		// An unknown idp_hint is ignored: the login page.
		start, _ = f.rp.authorizeURL(t, f.down, url.Values{"idp_hint": {"nope"}})
		wantPage(t, b.follow(b.get(start), nil), http.StatusOK, "Continue with Corp SSO")
	})

	t.Run("a replayed callback is refused", func(t *testing.T) {
		b := newBrowser(t)
		start, _ := f.rp.authorizeURL(t, f.down, idpHint)
		isCallback := func(u *url.URL) bool { return strings.HasSuffix(u.Path, "/login/upstream/corp/callback") }
		r := b.follow(b.get(start), isCallback)
		if f.isUpstreamLogin(r) {
			r = b.follow(b.submitLogin(r, "alice", alicePW), isCallback)
		}
		callback := r.location(t).String()
		cookie := f.attemptCookie(t, b)
		r = b.follow(b.get(callback), f.rp.isRedirect)
		if !f.rp.isRedirect(r.location(t)) {
			t.Fatalf("first callback did not sign in: %s", r.url)
		}
		// The same URL with the same cookie, from another browser (an
		// attacker who captured both).
		thief := newBrowser(t)
		u, _ := url.Parse(f.down.issuer + "/login/upstream/")
		thief.jar.SetCookies(u, []*http.Cookie{cookie})
		wantPage(t, thief.get(callback), http.StatusBadRequest, "not started here")
		if f.signedIn(t, thief) {
			t.Error("a replayed callback signed in")
		}
	})

	t.Run("GET /admin/upstreams shows each upstream and whether it answers", func(t *testing.T) {
		c, sec := f.down.client(app.ClientSpec{Name: "ops", GrantTypes: []string{"client_credentials"}, Scopes: []string{"sesame:admin"}})
		req, _ := http.NewRequest(http.MethodPost, f.down.issuer+"/oauth2/token", strings.NewReader("grant_type=client_credentials&scope=sesame%3Aadmin"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(sec))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.NewDecoder(res.Body).Decode(&tok)
		res.Body.Close()
		req, _ = http.NewRequest(http.MethodGet, f.down.issuer+"/admin/upstreams", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		res, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var got struct {
			Items []struct {
				ID     string `json:"id"`
				OK     bool   `json:"ok"`
				Probes []struct {
					What string `json:"what"`
					OK   bool   `json:"ok"`
				} `json:"probes"`
			} `json:"items"`
		}
		if err := json.NewDecoder(res.Body).Decode(&got); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET /admin/upstreams: %d %v", res.StatusCode, err)
		}
		state := map[string]bool{}
		for _, it := range got.Items {
			state[it.ID] = it.OK
			if it.ID == "corp" && (len(it.Probes) != 2 || it.Probes[0].What != "discovery" || it.Probes[1].What != "jwks") {
				t.Errorf("corp probes = %+v, want discovery and jwks", it.Probes)
			}
		}
		if len(got.Items) != 3 || !state["corp"] || state["dead"] {
			t.Errorf("upstreams = %+v: want corp reachable, dead not", got.Items)
		}
		req, _ = http.NewRequest(http.MethodGet, f.down.issuer+"/admin/upstreams", nil)
		if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusUnauthorized {
			t.Errorf("without a token: %v %v, want 401", res.StatusCode, err)
		}
	})

	t.Run("the upstream going down mid-way gives a clear page", func(t *testing.T) {
		b := newBrowser(t)
		start, _ := f.rp.authorizeURL(t, f.down, idpHint)
		isCallback := func(u *url.URL) bool { return strings.HasSuffix(u.Path, "/login/upstream/corp/callback") }
		r := b.follow(b.get(start), isCallback)
		if f.isUpstreamLogin(r) {
			r = b.follow(b.submitLogin(r, "alice", alicePW), isCallback)
		}
		f.up.stop() // before the downstream redeems the code
		wantPage(t, b.follow(r, f.rp.isRedirect), http.StatusBadGateway, "Corp SSO cannot be reached")
	})
}

func (f *fed) attemptCookie(t *testing.T, b *browser) *http.Cookie {
	t.Helper()
	u, _ := url.Parse(f.down.issuer + "/login/upstream/corp/callback")
	for _, c := range b.jar.Cookies(u) {
		if c.Name == "sesame_upstream" {
			return &http.Cookie{Name: c.Name, Value: c.Value, Path: "/login/upstream/"}
		}
	}
	t.Fatal("no attempt cookie")
	return nil
}

// editAttempt changes the browser's attempt cookie.
func (f *fed) editAttempt(t *testing.T, b *browser, fn func(map[string]any)) {
	t.Helper()
	c := f.attemptCookie(t, b)
	raw, _ := base64.RawURLEncoding.DecodeString(c.Value)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	raw, _ = json.Marshal(m)
	c.Value = base64.RawURLEncoding.EncodeToString(raw)
	u, _ := url.Parse(f.down.issuer + "/login/upstream/")
	b.jar.SetCookies(u, []*http.Cookie{c})
}

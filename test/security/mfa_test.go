package security

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/config"
	"github.com/sesameauth/sesame/internal/mfa"
	"github.com/sesameauth/sesame/internal/server"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
)

// Second factors end to end (SPEC part two "Second factors and
// passkeys"), on both stores: TOTP enrolment on /account/security with
// codes computed here from the enrolled secret (RFC 6238), the second
// step after the password, replay refused, wrong codes locked by the one
// guard, recovery codes single use, step-up with acr_values inside an
// existing session, a client that requires two factors making a user
// enrol at sign-in, and amr/acr in the ID token, the JWT access token and
// introspection.

var (
	totpSecretRE = regexp.MustCompile(`<code class="secret" id="totp-secret">([A-Z2-7]+)</code>`)
	factorRE     = regexp.MustCompile(`name="factor" value="([^"]+)"`)
	recoveryRE   = regexp.MustCompile(`<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>`)
	qrRE         = regexp.MustCompile(`<img src="data:image/png;base64,[A-Za-z0-9+/=&#;]{100,}"`)
)

const mfaMaxFailures = 3

// mfaServer starts a server whose clock the test moves: TOTP steps are
// 30 s. The clock starts ten minutes in the past, so that moving it
// forward never puts an auth_time ahead of the real time fosite checks
// ID tokens against.
func mfaServer(t *testing.T, databaseURL string, adjust ...func(*config.Config)) (*srv, *clock) {
	t.Helper()
	clk := &clock{t: time.Now().Add(-10 * time.Minute)}
	cfg := baseConfig(t)
	cfg.DatabaseURL = databaseURL
	cfg.AccessTokenFormat = "jwt"
	cfg.BruteForceMaxFailures = mfaMaxFailures
	for _, a := range adjust {
		a(&cfg)
	}
	return start(t, cfg, server.WithClock(clk.Now)), clk
}

func mfaBackends(t *testing.T, fn func(t *testing.T, databaseURL string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, "sqlite:"+filepath.Join(t.TempDir(), "mfa.db")) })
	t.Run("postgres", func(t *testing.T) { fn(t, pgtest.URL(t)) })
}

// signIn posts the plain /login form in b (no authorization flow).
func (b *browser) signIn(username, pw string) resp {
	b.s.t.Helper()
	action, csrf := formOf(b.s.t, b.get("/login").body)
	return b.post(action, url.Values{"username": {username}, "password": {pw}, "csrf_token": {csrf}})
}

// enrolTOTP turns TOTP on from /account/security (b is signed in) and
// returns the secret and the code that confirmed it.
func (b *browser) enrolTOTP(clk *clock) (secret, confirmCode string) {
	t := b.s.t
	t.Helper()
	page := b.get("/account/security")
	if page.status != http.StatusOK || !bytes.Contains(page.body, []byte(`action="/account/security/totp"`)) {
		t.Fatalf("security page: %d\n%s", page.status, page.body)
	}
	csrf := string(csrfRE.FindSubmatch(page.body)[1])
	r := b.post("/account/security/totp", url.Values{"csrf_token": {csrf}})
	m, f := totpSecretRE.FindSubmatch(r.body), factorRE.FindSubmatch(r.body)
	if r.status != http.StatusOK || m == nil || f == nil || !qrRE.Match(r.body) || !bytes.Contains(r.body, []byte(`href="otpauth://totp/`)) {
		t.Fatalf("enrolment page lacks the QR code, otpauth URI or secret: %d\n%s", r.status, r.body)
	}
	secret = string(m[1])
	action, csrf := formOf(t, r.body)
	// A wrong code leaves the factor unconfirmed.
	bad := b.post(action, url.Values{"csrf_token": {csrf}, "factor": {string(f[1])}, "code": {wrongTOTP(t, secret, clk)}})
	if bad.status != http.StatusUnauthorized || !totpSecretRE.Match(bad.body) {
		t.Fatalf("wrong enrolment code: %d\n%s", bad.status, bad.body)
	}
	confirmCode = totpNow(t, secret, clk)
	r = b.post(action, url.Values{"csrf_token": {csrf}, "factor": {string(f[1])}, "code": {confirmCode}})
	if u := location(t, r); u.Path != "/account/security" || u.Query().Get("done") != "totp" {
		t.Fatalf("confirmation redirected to %s", u)
	}
	return secret, confirmCode
}

func totpNow(t *testing.T, secret string, clk *clock) string {
	t.Helper()
	c, err := mfa.TOTPCode(secret, mfa.Step(clk.Now()))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wrongTOTP(t *testing.T, secret string, clk *clock) string {
	t.Helper()
	for n := 0; ; n++ {
		c := fmt.Sprintf("%06d", n)
		if _, ok := mfa.MatchTOTP(secret, c, clk.Now(), 0); !ok {
			return c
		}
	}
}

// secondStep expects r to lead to the second-factor page and returns it.
func (b *browser) secondStep(r resp) (action, csrf string) {
	t := b.s.t
	t.Helper()
	u := location(t, r)
	if u.Path != "/login/mfa" {
		t.Fatalf("after the password: redirected to %s, want /login/mfa", u)
	}
	page := b.get(u.String())
	if page.status != http.StatusOK || !bytes.Contains(page.body, []byte(`name="code"`)) {
		t.Fatalf("second-factor page: %d\n%s", page.status, page.body)
	}
	return formOf(t, page.body)
}

// finishCode follows the answer of the last step to the client's
// redirect and returns the code.
func (b *browser) finishCode(a *authz, r resp) string {
	t := b.s.t
	t.Helper()
	r = b.follow(r)
	u := location(t, r)
	if got := u.Scheme + "://" + u.Host + u.Path; got != a.redirect || u.Query().Get("code") == "" {
		t.Fatalf("redirected to %s, want a code at %s", u, a.redirect)
	}
	return u.Query().Get("code")
}

func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func strList(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			s, _ := x.(string)
			out = append(out, s)
		}
	}
	return out
}

// wantAuthentication checks amr and acr in the ID token, the JWT access
// token and introspection of the token response r.
func (s *srv) wantAuthentication(t *testing.T, r resp, id, sec string, amr []string, acr string) {
	t.Helper()
	wantTokens(t, r)
	idt := jwtClaims(t, r.str("id_token"))
	at := jwtClaims(t, r.str("access_token"))
	in := s.introspect(r.str("access_token"), id, sec)
	for _, got := range []struct {
		where string
		m     map[string]any
	}{{"ID token", idt}, {"JWT access token", at}, {"introspection", in.json}} {
		if g := strList(got.m["amr"]); !slices.Equal(g, amr) {
			t.Errorf("%s amr = %v, want %v", got.where, g, amr)
		}
		if g, _ := got.m["acr"].(string); g != acr {
			t.Errorf("%s acr = %q, want %q", got.where, g, acr)
		}
	}
}

func TestSecondFactorsEndToEnd(t *testing.T) {
	mfaBackends(t, func(t *testing.T, databaseURL string) {
		s, clk := mfaServer(t, databaseURL)
		s = s.with(t)
		const pw = "alice's long passphrase"
		alice := s.user("alice", pw)
		c, sec := s.webClient("mfa-app", true)
		ropc, ropcSec := s.client(app.ClientSpec{Name: "ropc", GrantTypes: []string{"password"}, Scopes: []string{"openid"}})

		disc := s.get("/.well-known/openid-configuration")
		if got := strList(disc.json["acr_values_supported"]); !slices.Equal(got, []string{app.ACRPassword, app.ACRMFA}) {
			t.Errorf("acr_values_supported = %v", got)
		}

		// Before enrolment: password only, acr pwd, and the password
		// grant works.
		a := newAuthz(t, c, "openid profile")
		s.wantAuthentication(t, s.exchange(a, s.code(a, "alice", pw), c.ID, sec), c.ID, sec, []string{"pwd"}, app.ACRPassword)
		wantTokens(t, s.passwordGrant(ropc.ID, ropcSec, "alice", pw, "openid"))

		acct := s.browser()
		if u := location(t, acct.signIn("alice", pw)); u.Path != "/account" {
			t.Fatalf("sign-in went to %s", u)
		}
		secret, confirmCode := acct.enrolTOTP(clk)

		// The secret is sealed at rest.
		fs, err := s.s.Store.ListFactors(context.Background(), alice.ID)
		if err != nil || len(fs) != 1 || !fs[0].Confirmed || bytes.Contains(fs[0].Secret, []byte(secret)) {
			t.Fatalf("stored factors %+v, %v: want one confirmed TOTP factor without the secret in clear", fs, err)
		}

		// The password alone no longer signs in.
		b := s.browser()
		a = newAuthz(t, c, "openid profile")
		action, csrf := b.secondStep(b.login(a, "alice", pw))
		if r := b.get("/account"); r.status != http.StatusSeeOther {
			t.Fatalf("signed in after the password alone: /account answered %d", r.status)
		}
		r := b.post(action, url.Values{"csrf_token": {csrf}, "code": {wrongTOTP(t, secret, clk)}})
		if r.status != http.StatusUnauthorized || !bytes.Contains(r.body, []byte("not right")) {
			t.Fatalf("wrong code: %d\n%s", r.status, r.body)
		}
		// The code that confirmed the enrolment is spent: replay refused.
		r = b.post(action, url.Values{"csrf_token": {csrf}, "code": {confirmCode}})
		if r.status != http.StatusUnauthorized || !bytes.Contains(r.body, []byte("already used")) {
			t.Fatalf("replayed code: %d\n%s", r.status, r.body)
		}
		clk.Advance(30 * time.Second)
		code := totpNow(t, secret, clk)
		r = b.post(action, url.Values{"csrf_token": {csrf}, "code": {code}})
		tok := s.exchange(a, b.finishCode(a, r), c.ID, sec)
		s.wantAuthentication(t, tok, c.ID, sec, []string{"pwd", "otp", "mfa"}, app.ACRMFA)

		// The same code in the same window, in another browser: refused.
		b2 := s.browser()
		a2 := newAuthz(t, c, "openid")
		action, csrf = b2.secondStep(b2.login(a2, "alice", pw))
		r = b2.post(action, url.Values{"csrf_token": {csrf}, "code": {code}})
		if r.status != http.StatusUnauthorized || !bytes.Contains(r.body, []byte("already used")) {
			t.Fatalf("code replayed in another browser: %d\n%s", r.status, r.body)
		}

		// The password grant cannot ask for the second factor: refused.
		wantError(t, s.passwordGrant(ropc.ID, ropcSec, "alice", pw, "openid"), http.StatusBadRequest, "invalid_grant")

		// Guessing codes: the one guard locks the second step (one
		// failure above already counts), and while locked even the right
		// code is refused.
		for range mfaMaxFailures - 1 {
			r = b2.post(action, url.Values{"csrf_token": {csrf}, "code": {wrongTOTP(t, secret, clk)}})
			if r.status != http.StatusUnauthorized {
				t.Fatalf("wrong code: %d", r.status)
			}
		}
		// The next step's code (accepted: ±1 step of drift) was never used.
		next, _ := mfa.TOTPCode(secret, mfa.Step(clk.Now())+1)
		r = b2.post(action, url.Values{"csrf_token": {csrf}, "code": {next}})
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
			t.Fatalf("right code during a lock: %d (Retry-After %q)\n%s", r.status, r.header.Get("Retry-After"), r.body)
		}
		clk.Advance(time.Minute) // past the 30 s lock
		r = b2.post(action, url.Values{"csrf_token": {csrf}, "code": {totpNow(t, secret, clk)}})
		s.exchange(a2, b2.finishCode(a2, r), c.ID, sec)

		// Recovery codes: generating them needs the password again; each
		// works once, in place of a TOTP code.
		page := acct.get("/account/security")
		csrf = string(csrfRE.FindSubmatch(page.body)[1])
		r = acct.post("/account/security/recovery", url.Values{"csrf_token": {csrf}, "password": {"wrong"}})
		if r.status != http.StatusUnauthorized || recoveryRE.Match(r.body) {
			t.Fatalf("recovery codes with a wrong password: %d", r.status)
		}
		r = acct.post("/account/security/recovery", url.Values{"csrf_token": {csrf}, "password": {pw}})
		codes := recoveryRE.FindAllSubmatch(r.body, -1)
		if r.status != http.StatusOK || len(codes) != mfa.RecoveryCodeCount {
			t.Fatalf("recovery codes page: %d, %d codes\n%s", r.status, len(codes), r.body)
		}
		rc := string(codes[0][1])
		b3 := s.browser()
		a3 := newAuthz(t, c, "openid")
		action, csrf = b3.secondStep(b3.login(a3, "alice", pw))
		r = b3.post(action, url.Values{"csrf_token": {csrf}, "code": {rc}})
		s.wantAuthentication(t, s.exchange(a3, b3.finishCode(a3, r), c.ID, sec), c.ID, sec, []string{"pwd", "otp", "mfa"}, app.ACRMFA)
		b4 := s.browser()
		a4 := newAuthz(t, c, "openid")
		action, csrf = b4.secondStep(b4.login(a4, "alice", pw))
		if r = b4.post(action, url.Values{"csrf_token": {csrf}, "code": {rc}}); r.status != http.StatusUnauthorized {
			t.Fatalf("a used recovery code again: %d", r.status)
		}

		// Removing the factor needs the password again.
		page = acct.get("/account/security")
		csrf = string(csrfRE.FindSubmatch(page.body)[1])
		fid := string(factorRE.FindSubmatch(page.body)[1])
		if r = acct.post("/account/security/remove", url.Values{"csrf_token": {csrf}, "factor": {fid}}); r.status != http.StatusUnauthorized {
			t.Fatalf("remove without a fresh check: %d", r.status)
		}
		if ok, _ := hasFactor(s, alice.ID); !ok {
			t.Fatal("factor removed without a fresh check")
		}
		r = acct.post("/account/security/remove", url.Values{"csrf_token": {csrf}, "factor": {fid}, "password": {pw}})
		if u := location(t, r); u.Query().Get("done") != "removed" {
			t.Fatalf("remove: %s", u)
		}
		if ok, _ := hasFactor(s, alice.ID); ok {
			t.Fatal("factor still there after removal")
		}

		wantAudit(t, s, alice.ID, app.AuditMFAEnrolled, "success")
		wantAudit(t, s, alice.ID, app.AuditMFAUsed, "success")
		wantAudit(t, s, alice.ID, app.AuditMFAUsed, "failure")
		wantAudit(t, s, alice.ID, app.AuditMFARecoveryCodes, "success")
		wantAudit(t, s, alice.ID, app.AuditMFARemoved, "success")
		if strings.Contains(s.logs.String(), secret) || strings.Contains(s.logs.String(), rc) {
			t.Error("a TOTP secret or recovery code reached the log")
		}
	})
}

func hasFactor(s *srv, userID string) (bool, error) {
	fs, err := s.s.Store.ListFactors(context.Background(), userID)
	return len(fs) > 0, err
}

func wantAudit(t *testing.T, s *srv, userID, typ, outcome string) {
	t.Helper()
	evs, _, err := s.s.Store.ListAudit(context.Background(), storage.AuditFilter{Type: typ, UserID: userID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Outcome == outcome {
			return
		}
	}
	t.Errorf("no %s audit event with outcome %s for %s", typ, outcome, userID)
}

func TestStepUpAndRequiredSecondFactor(t *testing.T) {
	mfaBackends(t, func(t *testing.T, databaseURL string) {
		s, clk := mfaServer(t, databaseURL)
		s = s.with(t)
		const pw = "bob's long passphrase"
		s.user("bob", pw)
		c, sec := s.webClient("plain-app", true)

		// Signed in with the password only.
		b := s.browser()
		a := newAuthz(t, c, "openid")
		s.wantAuthentication(t, s.exchange(a, b.code(a, "bob", pw), c.ID, sec), c.ID, sec, []string{"pwd"}, app.ACRPassword)

		// prompt=none cannot step up: the OIDC error, at the client.
		a = newAuthz(t, c, "openid")
		a.extra.Set("acr_values", app.ACRMFA)
		a.extra.Set("prompt", "none")
		u := location(t, b.get(a.path()))
		if u.Query().Get("error") != "unmet_authentication_requirements" || u.Query().Get("state") != a.state {
			t.Fatalf("prompt=none step-up answered %s", u)
		}

		// Bob enrols in the same browser; his session is still pwd.
		secret, _ := b.enrolTOTP(clk)
		clk.Advance(30 * time.Second)

		// acr_values asks for two factors: only the code is asked.
		a = newAuthz(t, c, "openid")
		a.extra.Set("acr_values", app.ACRMFA)
		action, csrf := b.secondStep(b.get(a.path()))
		r := b.post(action, url.Values{"csrf_token": {csrf}, "code": {totpNow(t, secret, clk)}})
		s.wantAuthentication(t, s.exchange(a, b.finishCode(a, r), c.ID, sec), c.ID, sec, []string{"pwd", "otp", "mfa"}, app.ACRMFA)

		// The upgraded session serves the next request without asking.
		a = newAuthz(t, c, "openid")
		a.extra.Set("acr_values", app.ACRMFA)
		s.wantAuthentication(t, s.exchange(a, b.finishCode(a, b.get(a.path())), c.ID, sec), c.ID, sec, []string{"pwd", "otp", "mfa"}, app.ACRMFA)

		// max_age=0: the whole sign-in again, the second factor included,
		// even inside the two-factor session.
		a = newAuthz(t, c, "openid")
		a.extra.Set("max_age", "0")
		clk.Advance(30 * time.Second)
		if u := location(t, b.get(a.path())); u.Path != "/login" {
			t.Fatalf("max_age=0 went to %s, want the password page", u)
		}
		action, csrf = b.secondStep(b.login(a, "bob", pw))
		r = b.post(action, url.Values{"csrf_token": {csrf}, "code": {totpNow(t, secret, clk)}})
		s.wantAuthentication(t, s.exchange(a, b.finishCode(a, r), c.ID, sec), c.ID, sec, []string{"pwd", "otp", "mfa"}, app.ACRMFA)

		// A client that requires two factors: a user without a factor
		// enrols at sign-in before any code is issued.
		s.user("dave", pw)
		strict, strictSec := s.client(app.ClientSpec{Name: "strict", RedirectURIs: []string{"https://strict.example.com/cb"},
			GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid"}, SkipConsent: true, RequireMFA: true})
		d := s.browser()
		a = newAuthz(t, strict, "openid")
		u = location(t, d.login(a, "dave", pw))
		if u.Path != "/login/mfa/enrol" {
			t.Fatalf("a user without a factor went to %s, want /login/mfa/enrol", u)
		}
		page := d.get(u.String())
		m, f := totpSecretRE.FindSubmatch(page.body), factorRE.FindSubmatch(page.body)
		if m == nil || f == nil {
			t.Fatalf("enrolment at sign-in:\n%s", page.body)
		}
		action, csrf = formOf(t, page.body)
		r = d.post(action, url.Values{"csrf_token": {csrf}, "factor": {string(f[1])}, "code": {totpNow(t, string(m[1]), clk)}})
		s.wantAuthentication(t, s.exchange(a, d.finishCode(a, r), strict.ID, strictSec), strict.ID, strictSec, []string{"pwd", "otp", "mfa"}, app.ACRMFA)
	})
}

func TestMFARequiredEnrolsEveryUserAtSignIn(t *testing.T) {
	s, clk := mfaServer(t, "sqlite:"+filepath.Join(t.TempDir(), "req.db"), func(c *config.Config) { c.MFA = "required" })
	const pw = "erin's long passphrase"
	s.user("erin", pw)
	ropc, ropcSec := s.client(app.ClientSpec{Name: "ropc", GrantTypes: []string{"password"}, Scopes: []string{"openid"}})
	wantError(t, s.passwordGrant(ropc.ID, ropcSec, "erin", pw, "openid"), http.StatusBadRequest, "invalid_grant")
	b := s.browser()
	u := location(t, b.signIn("erin", pw))
	if u.Path != "/login/mfa/enrol" {
		t.Fatalf("SESAME_MFA=required: sign-in went to %s, want /login/mfa/enrol", u)
	}
	if r := b.get("/account"); r.status != http.StatusSeeOther {
		t.Fatalf("signed in before enrolling: /account answered %d", r.status)
	}
	page := b.get(u.String())
	m, f := totpSecretRE.FindSubmatch(page.body), factorRE.FindSubmatch(page.body)
	if m == nil || f == nil {
		t.Fatalf("enrolment at sign-in:\n%s", page.body)
	}
	action, csrf := formOf(t, page.body)
	r := b.post(action, url.Values{"csrf_token": {csrf}, "factor": {string(f[1])}, "code": {totpNow(t, string(m[1]), clk)}})
	if u := location(t, r); u.Path != "/account" {
		t.Fatalf("after enrolment: %s", u)
	}
	if r := b.get("/account"); r.status != http.StatusOK {
		t.Fatalf("/account after enrolment: %d", r.status)
	}
}

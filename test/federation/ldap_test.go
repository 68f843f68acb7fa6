package federation

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/internal/config"
)

func TestLDAPUpstreamIsARealOpenLDAP(t *testing.T) {
	t.Parallel() // each test has its own servers
	dir := startSlapd(t)
	corp := config.Upstream{ID: "corp", Name: "Corp directory", Type: "ldap", URL: dir.url, StartTLS: true, CAFile: dir.caFile,
		BindDN: ldapSvcDN, BindPassword: ldapSvcPW,
		UserSearchBase: ldapPeopleOU, UserFilter: "(&(objectClass=inetOrgPerson)(uid={username}))",
		GroupSearchBase: ldapGroupsOU, GroupFilter: "(&(objectClass=groupOfNames)(member={dn}))"}
	plain := config.Upstream{ID: "plain", Name: "Plain directory", Type: "ldap", URL: dir.url,
		UserSearchBase: ldapPeopleOU, UserFilter: "(uid={username})"}
	cfg := baseConfig(t)
	cfg.Upstreams = []config.Upstream{corp, plain}
	cfg.BruteForceMaxFailures = 3
	d := start(t, listen(t), cfg)
	app := newRP(d)

	// signIn posts the directory form the authorization request leads to.
	signIn := func(t *testing.T, b *browser, upstreamID, username, pw string) (resp, authz) {
		t.Helper()
		start, z := app.authorizeURL(t, d, url.Values{"idp_hint": {upstreamID}})
		page := b.follow(b.get(start), nil)
		if page.status != http.StatusOK || !bytes.Contains(page.body, []byte("Sign in with")) {
			t.Fatalf("no directory form: %d %s", page.status, page.body)
		}
		return b.follow(b.submitLogin(page, username, pw), app.isRedirect), z
	}

	t.Run("sign-in over StartTLS with group mapping", func(t *testing.T) {
		r, z := signIn(t, newBrowser(t), "corp", "alice", ldapAlicePW)
		u := r.location(t)
		if !app.isRedirect(u) {
			t.Fatalf("ended at %s", u)
		}
		claims := app.exchange(t, d, u.Query().Get("code"), z)
		amr, _ := claims["amr"].([]any)
		groups, _ := claims["groups"].([]any)
		if !slices.Contains(amr, any("fed")) || !slices.Contains(amr, any("pwd")) {
			t.Errorf("amr = %v, want fed and pwd", claims["amr"])
		}
		if !slices.Contains(groups, any("eng")) || !slices.Contains(groups, any("ops")) || len(groups) != 2 {
			t.Errorf("groups = %v, want [eng ops] from the directory", claims["groups"])
		}
		if claims["email"] != "alice@example.com" || claims["name"] != "Alice Liddell" {
			t.Errorf("email %v, name %v", claims["email"], claims["name"])
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		r, _ := signIn(t, newBrowser(t), "corp", "alice", "not-her-password")
		wantPage(t, r, http.StatusUnauthorized, "Incorrect username or password.")
	})

	t.Run("filter injection in the username matches nobody", func(t *testing.T) {
		// Escaped per RFC 4515 these are looked up literally. Unescaped,
		// "al*" would find alice and her password would sign in, and
		// "*)(uid=*" would break the filter (a 502, not a refusal).
		for _, name := range []string{"*)(uid=*", "al*", "*", "alice)(|(uid=*"} {
			r, _ := signIn(t, newBrowser(t), "corp", name, ldapAlicePW)
			wantPage(t, r, http.StatusUnauthorized, "Incorrect username or password.")
		}
	})

	t.Run("plain LDAP to loopback works and says so in the log", func(t *testing.T) {
		r, _ := signIn(t, newBrowser(t), "plain", "bob", ldapBobPW)
		if !app.isRedirect(r.location(t)) {
			t.Fatalf("plain sign-in failed: %s", r.url)
		}
		if !strings.Contains(d.logs.String(), "plain LDAP without TLS") {
			t.Error("no warning about plain LDAP in the log")
		}
	})

	t.Run("repeated wrong passwords lock through the one guard", func(t *testing.T) {
		var last resp
		for i := 0; i < 6; i++ {
			last, _ = signIn(t, newBrowser(t), "corp", "bob", "wrong-"+random(t))
			if last.status == http.StatusTooManyRequests {
				break
			}
		}
		wantPage(t, last, http.StatusTooManyRequests, "")
		if last.header.Get("Retry-After") == "" {
			t.Error("no Retry-After on the lock")
		}
		// The right password is refused while locked (nothing is checked).
		r, _ := signIn(t, newBrowser(t), "corp", "bob", ldapBobPW)
		wantPage(t, r, http.StatusTooManyRequests, "")
		// The local password of "bob" (the user the plain directory
		// created just in time, given a password here) is another key
		// ("upstream:corp/bob" is the directory's): not locked.
		if err := d.s.App.SetPassword(context.Background(), "test", "bob", "local-bob-password"); err != nil {
			t.Fatal(err)
		}
		b := newBrowser(t)
		start, _ := app.authorizeURL(t, d, nil)
		r = b.follow(b.submitLogin(b.follow(b.get(start), nil), "bob", "local-bob-password"), app.isRedirect)
		if !app.isRedirect(r.location(t)) {
			t.Fatalf("local bob was locked by the directory's failures: %s", r.url)
		}
	})

	t.Run("the directory down gives a clear page", func(t *testing.T) {
		dir.stop()
		r, _ := signIn(t, newBrowser(t), "corp", "alice", ldapAlicePW)
		wantPage(t, r, http.StatusBadGateway, "Corp directory cannot be reached")
	})
}

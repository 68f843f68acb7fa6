package ha_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage/postgres/pgtest"
)

// TestPgBouncerTwoInstances runs two `sesame serve` with
// SESAME_DATABASE_URL through PgBouncer in transaction pooling mode (the
// configuration docs/deploy.md quotes, pgtest.PgBouncerINI) and
// SESAME_DATABASE_LISTEN_URL direct: the pooled URL alone is refused at
// start-up with a message naming the setting; under a load of issuance on
// one instance and introspection on the other every answer is 200 and
// active (no prepared statement or session state leaks between
// transactions); a revocation on either instance is seen by the other
// within a second although its revocation cache lives ten minutes (only
// the NOTIFY, through the direct listener, can tell it).
func TestPgBouncerTwoInstances(t *testing.T) {
	direct := pgtest.URL(t)
	pooled := pgtest.PgBouncer(t, direct)
	bin := buildSesame(t)
	dir := t.TempDir()

	t.Run("pooled URL alone is refused at start-up", func(t *testing.T) {
		listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "serve")
		cmd.Env = sesameEnv(pooled, listen)
		out, err := cmd.CombinedOutput()
		if err == nil || ctx.Err() != nil {
			t.Fatalf("serve through PgBouncer without SESAME_DATABASE_LISTEN_URL: err %v (ctx %v)\n%s", err, ctx.Err(), out)
		}
		if !strings.Contains(string(out), "SESAME_DATABASE_LISTEN_URL") {
			t.Errorf("the start-up error does not name SESAME_DATABASE_LISTEN_URL:\n%s", out)
		}
	})

	var ins []*instance
	var envA []string
	for i, name := range []string{"a", "b"} {
		listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		env := sesameEnv(pooled, listen, "SESAME_DATABASE_LISTEN_URL="+direct, "SESAME_REVOCATION_CACHE_TTL=10m")
		if i == 0 {
			envA = env
		}
		ins = append(ins, startSesame(t, bin, dir, "sesame-"+name, listen, env))
	}
	c := createClient(t, bin, envA, "load", "read")
	rs := createClient(t, bin, envA, "rs", "sesame:introspect")

	t.Run("load across both instances", func(t *testing.T) {
		rec := &recorder{}
		ctx, cancel := context.WithTimeout(t.Context(), 6*time.Second)
		defer cancel()
		drive(ctx, []string{ins[0].base, ins[1].base}, c, rs, 6, rec).Wait()
		all := rec.snapshot()
		var tokens, intros int
		for _, r := range all {
			switch {
			case r.status != http.StatusOK:
				t.Errorf("%s: %s %v", r.op, r.label(), r.err)
			case r.op == "token":
				tokens++
			case !r.active:
				t.Errorf("a token issued on one instance is not active on the other")
			default:
				intros++
			}
		}
		t.Logf("measured: through PgBouncer (transaction pooling), two instances: %d tokens issued, %d introspections on the other instance, answers: %s",
			tokens, intros, countLabels(all))
		if tokens < 20 || intros < 20 {
			t.Errorf("load too small: %d tokens, %d introspections", tokens, intros)
		}
	})

	hc := &http.Client{Timeout: 10 * time.Second}
	for _, dirn := range [][2]int{{0, 1}, {1, 0}} {
		from, to := ins[dirn[0]], ins[dirn[1]]
		t.Run(fmt.Sprintf("revocation on %s seen on %s", from.base, to.base), func(t *testing.T) {
			st, body, err := postForm(hc, from.base, "/oauth2/token", c, url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}})
			if err != nil || st != http.StatusOK {
				t.Fatalf("token: %d %v %v", st, body, err)
			}
			tok, _ := body["access_token"].(string)
			activeAt := func(base string) bool {
				st, body, err := postForm(hc, base, "/oauth2/introspect", rs, url.Values{"token": {tok}})
				if err != nil || st != http.StatusOK {
					t.Fatalf("introspect at %s: %d %v %v", base, st, body, err)
				}
				a, _ := body["active"].(bool)
				return a
			}
			if !activeAt(to.base) { // now cached as not revoked
				t.Fatal("fresh token not active on the other instance")
			}
			if st, body, err := postForm(hc, from.base, "/oauth2/revoke", c, url.Values{"token": {tok}}); err != nil || st != http.StatusOK {
				t.Fatalf("revoke: %d %v %v", st, body, err)
			}
			start := time.Now()
			took, ok := waitFor(time.Second, func() bool { return !activeAt(to.base) })
			if !ok {
				t.Fatalf("the other instance still answers active %s after the revocation (its revocation cache lives 10m)", took)
			}
			t.Logf("measured: revocation through PgBouncer seen on the other instance after %s", time.Since(start).Round(time.Millisecond))
		})
	}
}

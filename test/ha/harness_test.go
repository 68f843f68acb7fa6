package ha_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage/postgres/pgtest"
)

// testSecret is the system secret every instance of a test shares.
const testSecret = "ha-test-secret-0123456789abcdefghijklmnopqrstuvwxyz"

// pgBin is where Debian's Postgres 15 server binaries live.
const pgBin = "/usr/lib/postgresql/15/bin"

// need skips the test when a file is missing, and fails it when CI is
// set: CI installs the packages (.ci/run) and must never skip these.
func need(t *testing.T, what string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s: %s missing but CI is set (.ci/run installs it)", what, p)
			}
			t.Skipf("%s: %s missing; skipping (apt-get install etcd-server patroni postgresql-15 pgbouncer)", what, p)
		}
	}
}

// postgresUser is the account Postgres and Patroni run as when the test
// runs as root (Postgres refuses root); nil when not root.
func postgresUser(t *testing.T) *user.User {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Skipf("running as root and no postgres user to run the database as: %v", err)
	}
	return u
}

// workDir is a fresh directory the database processes can write to (not
// t.TempDir: its parents are private to root).
func workDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sesame-ha-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	chown(t, dir)
	return dir
}

func chown(t *testing.T, path string) {
	t.Helper()
	if u := postgresUser(t); u != nil {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		_ = filepath.Walk(path, func(p string, _ os.FileInfo, err error) error {
			if err == nil {
				_ = os.Chown(p, uid, gid)
			}
			return err
		})
	}
}

// asPostgres runs name as the postgres user when root.
func asPostgres(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	if postgresUser(t) == nil {
		return exec.Command(name, args...)
	}
	cmd := exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	// The test's own directory may sit in a tree postgres cannot enter (a
	// clone in a 0700 mktemp dir): initdb, run by Patroni's bootstrap, then
	// fails on its working directory and the bootstrap never ends.
	cmd.Dir = os.TempDir()
	return cmd
}

// proc is a background process of the test, in its own process group,
// with its output in a log file.
type proc struct {
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
}

// startProc starts cmd, logging to logPath; it is stopped (SIGTERM, then
// SIGKILL to its process group) when the test ends.
func startProc(t *testing.T, cmd *exec.Cmd, logPath string) *proc {
	t.Helper()
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	p := &proc{cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(p.exited) }()
	t.Cleanup(func() { p.stop() })
	return p
}

func (p *proc) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
}

// tail is the end of the process's log, for failure messages.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// waitFor polls cond every 100ms until it holds or d has passed, and
// reports how long it took.
func waitFor(d time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > d {
			return time.Since(start), false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var probe = &http.Client{Timeout: 2 * time.Second}

// getStatus is the status of GET u, 0 when it cannot be reached.
func getStatus(u string) int {
	resp, err := probe.Get(u)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// binDir holds the sesame binary the tests build; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "sesame-ha-bin-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(binDir)
	os.Exit(code)
}

// buildSesame builds cmd/sesame once per test binary run.
var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
)

func buildSesame(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildBin = filepath.Join(binDir, "sesame")
		out, err := exec.Command("go", "build", "-o", buildBin, "github.com/sesameauth/sesame/cmd/sesame").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// sesameEnv is the environment of a test instance on databaseURL.
func sesameEnv(databaseURL, listen string, extra ...string) []string {
	env := append(os.Environ(),
		"SESAME_DATABASE_URL="+databaseURL,
		"SESAME_SECRET="+testSecret,
		"SESAME_LISTEN="+listen,
		"SESAME_ISSUER=http://"+listen,
		"SESAME_DEMO=false",
		"SESAME_RATE_LIMIT_ENABLED=false",
		"SESAME_SHUTDOWN_DELAY=0",
		"SESAME_LOG_LEVEL=warn",
		"SESAME_ARGON2_MEMORY_KIB=7168", "SESAME_ARGON2_ITERATIONS=5",
	)
	return append(env, extra...)
}

// instance is one running `sesame serve`.
type instance struct {
	base string
	proc *proc
}

// startSesame runs `sesame serve` with env (whose SESAME_LISTEN is
// listen) and waits until /readyz answers 200.
func startSesame(t *testing.T, bin, dir, name, listen string, env []string) *instance {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	p := startProc(t, cmd, filepath.Join(dir, name+".log"))
	in := &instance{base: "http://" + listen, proc: p}
	if took, ok := waitFor(90*time.Second, func() bool {
		select {
		case <-p.exited:
			return true
		default:
		}
		return getStatus(in.base+"/readyz") == http.StatusOK
	}); !ok {
		t.Fatalf("%s not ready after %s:\n%s", name, took, p.tail())
	}
	select {
	case <-p.exited:
		t.Fatalf("%s exited:\n%s", name, p.tail())
	default:
	}
	return in
}

// client is a registered client_credentials client.
type client struct{ id, secret string }

// createClient registers a client with the sesame CLI on env's database.
func createClient(t *testing.T, bin string, env []string, name, scopes string) client {
	t.Helper()
	cmd := exec.Command(bin, "clients", "create", "--name", name, "--grant-types", "client_credentials",
		"--scopes", scopes, "--token-format", "opaque", "--json")
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sesame clients create: %v\n%s", err, stderr.String())
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("sesame clients create: output %q: %v", out, err)
	}
	c := client{}
	c.id, _ = m["client_id"].(string)
	c.secret, _ = m["client_secret"].(string)
	if c.id == "" || c.secret == "" {
		t.Fatalf("sesame clients create: %v", m)
	}
	return c
}

// postForm POSTs form with HTTP Basic client authentication and decodes
// the JSON answer.
func postForm(hc *http.Client, base, path string, c client, form url.Values) (int, map[string]any, error) {
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.id), url.QueryEscape(c.secret))
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	var m map[string]any
	if len(body) > 0 {
		if err := json.Unmarshal(body, &m); err != nil {
			return resp.StatusCode, nil, fmt.Errorf("status %d, body %q is not JSON: %w", resp.StatusCode, body, err)
		}
	}
	return resp.StatusCode, m, nil
}

// result is one request of the load.
type result struct {
	op       string // "token" or "introspect"
	at, done time.Time
	status   int // 0: transport error
	code     string
	token    string // token: the access token handed out
	active   bool   // introspect: the answer
	err      error
}

func (r result) label() string {
	switch {
	case r.err != nil:
		return r.op + " transport error"
	case r.code != "":
		return fmt.Sprintf("%s %d %s", r.op, r.status, r.code)
	default:
		return fmt.Sprintf("%s %d", r.op, r.status)
	}
}

// recorder keeps results safe for concurrent use.
type recorder struct {
	mu  sync.Mutex
	all []result
}

func (r *recorder) add(x result) {
	r.mu.Lock()
	r.all = append(r.all, x)
	r.mu.Unlock()
}

func (r *recorder) snapshot() []result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]result(nil), r.all...)
}

// firstOKAfter is when the first request of op sent after t succeeded.
func (r *recorder) firstOKAfter(op string, t time.Time) (time.Time, bool) {
	var first time.Time
	for _, x := range r.snapshot() {
		if x.op == op && x.status == http.StatusOK && x.at.After(t) && (first.IsZero() || x.done.Before(first)) {
			first = x.done
		}
	}
	return first, !first.IsZero()
}

// drive runs workers that each loop: get a client_credentials token from
// one of bases (round robin), then introspect it as rs at the next one.
func drive(ctx context.Context, bases []string, c, rs client, workers int, rec *recorder) *sync.WaitGroup {
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; ctx.Err() == nil; i++ {
				base := bases[i%len(bases)]
				r := result{op: "token", at: time.Now()}
				st, body, err := postForm(hc, base, "/oauth2/token", c, url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}})
				r.done, r.status, r.err = time.Now(), st, err
				if body != nil {
					r.code, _ = body["error"].(string)
					r.token, _ = body["access_token"].(string)
				}
				if ctx.Err() != nil && err != nil {
					return // cut short by the end of the run
				}
				rec.add(r)
				if r.token == "" {
					time.Sleep(20 * time.Millisecond) // do not spin while the database is gone
					continue
				}
				base = bases[(i+1)%len(bases)]
				q := result{op: "introspect", at: time.Now()}
				st, body, err = postForm(hc, base, "/oauth2/introspect", rs, url.Values{"token": {r.token}})
				q.done, q.status, q.err = time.Now(), st, err
				if body != nil {
					q.code, _ = body["error"].(string)
					q.active, _ = body["active"].(bool)
				}
				if ctx.Err() != nil && err != nil {
					return
				}
				rec.add(q)
			}
		})
	}
	return &wg
}

// countLabels counts results by label, sorted for printing.
func countLabels(rs []result) string {
	m := map[string]int{}
	for _, r := range rs {
		m[r.label()]++
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %d; ", k, m[k])
	}
	return strings.TrimSuffix(b.String(), "; ")
}

// introspectAll introspects every token as rs at base with a few workers
// and returns those not active, keyed by token.
func introspectAll(t *testing.T, base string, rs client, tokens []string) map[string]bool {
	t.Helper()
	hc := &http.Client{Timeout: 20 * time.Second}
	var mu sync.Mutex
	inactive := map[string]bool{}
	ch := make(chan string)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for tok := range ch {
				var st int
				var body map[string]any
				var err error
				for range 5 { // a 503 right after a failover is retried
					st, body, err = postForm(hc, base, "/oauth2/introspect", rs, url.Values{"token": {tok}})
					if err == nil && st == http.StatusOK {
						break
					}
					time.Sleep(200 * time.Millisecond)
				}
				if err != nil || st != http.StatusOK {
					t.Errorf("introspect after the failover: %d %v %v", st, body, err)
					continue
				}
				if a, _ := body["active"].(bool); !a {
					mu.Lock()
					inactive[tok] = true
					mu.Unlock()
				}
			}
		})
	}
	for _, tok := range tokens {
		ch <- tok
	}
	close(ch)
	wg.Wait()
	return inactive
}

// scanLines returns the lines of a file that contain want.
func scanLines(path, want string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.Contains(sc.Text(), want) {
			out = append(out, sc.Text())
		}
	}
	return out
}

// freePort is pgtest's.
func freePort(t *testing.T) int { return pgtest.FreePort(t) }

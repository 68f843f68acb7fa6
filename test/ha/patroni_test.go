package ha_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Bounds of the failover test. The machine running CI is small and shared,
// so readiness waits are generous; the whole test stays within ~3 min.
const (
	// failoverBound is the longest Sesame may take to serve tokens again
	// after the primary's postmaster is killed (Patroni: loop_wait 1 s,
	// primary_start_timeout 0; measured a few seconds).
	failoverBound = 30 * time.Second
	// requestBound is the longest one request may take during the gap:
	// it must fail fast, not hang.
	requestBound = 10 * time.Second
)

// startEtcd runs a single-member etcd in dir and returns its client
// address.
func startEtcd(t *testing.T, dir string) string {
	t.Helper()
	cport, pport := freePort(t), freePort(t)
	client := fmt.Sprintf("http://127.0.0.1:%d", cport)
	peer := fmt.Sprintf("http://127.0.0.1:%d", pport)
	cmd := exec.Command("/usr/bin/etcd", "--name", "ha", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "ha="+peer, "--initial-cluster-state", "new",
		"--log-level", "warn")
	p := startProc(t, cmd, filepath.Join(dir, "etcd.log"))
	if took, ok := waitFor(30*time.Second, func() bool { return getStatus(client+"/health") == http.StatusOK }); !ok {
		t.Fatalf("etcd not healthy after %s:\n%s", took, p.tail())
	}
	return fmt.Sprintf("127.0.0.1:%d", cport)
}

// patroniYAML is a node's configuration. Tuned for a fast, safe failover
// of a 2-node cluster: loop_wait 1 s and ttl 10 s; primary_start_timeout 0
// (a crashed primary is failed over at once instead of being restarted in
// place); synchronous_mode_strict false, so that the survivor of a
// synchronous pair accepts writes alone.
const patroniYAML = `scope: %[1]s
name: %[2]s
restapi:
  listen: 127.0.0.1:%[3]d
  connect_address: 127.0.0.1:%[3]d
etcd3:
  host: %[4]s
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 3
    maximum_lag_on_failover: 1048576
    primary_start_timeout: 0
    synchronous_mode: %[5]t
    synchronous_mode_strict: false
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        wal_log_hints: "on"
        max_wal_senders: 5
        max_replication_slots: 5
        max_connections: 100
  initdb:
    - encoding: UTF8
    - auth: trust
postgresql:
  listen: 127.0.0.1:%[6]d
  connect_address: 127.0.0.1:%[6]d
  data_dir: %[7]s
  bin_dir: ` + pgBin + `
  pgpass: %[8]s
  authentication:
    superuser:
      username: postgres
      password: postgres
    replication:
      username: replicator
      password: replicator
  parameters:
    unix_socket_directories: '%[9]s'
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
`

// node is one Patroni member.
type node struct {
	name   string
	pgPort int
	api    string
	data   string
	proc   *proc
}

// startNode writes a node's configuration and starts Patroni on it.
func startNode(t *testing.T, dir, etcd, scope, name string, synchronous bool) *node {
	t.Helper()
	n := &node{name: name, pgPort: freePort(t), data: filepath.Join(dir, name)}
	apiPort := freePort(t)
	n.api = fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	sock := filepath.Join(dir, name+"-sock")
	if err := os.MkdirAll(sock, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, name+".yml")
	yml := fmt.Sprintf(patroniYAML, scope, name, apiPort, etcd, synchronous, n.pgPort, n.data,
		filepath.Join(dir, name+".pgpass"), sock)
	if err := os.WriteFile(conf, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	chown(t, dir)
	// Patroni starts the postmaster in a session of its own: stop it
	// after Patroni (cleanups run last-registered first).
	t.Cleanup(func() { n.stopPostgres(t) })
	n.proc = startProc(t, asPostgres(t, "/usr/bin/patroni", conf), filepath.Join(dir, name+".log"))
	return n
}

// status is the node's answer to GET path on its REST API (/primary,
// /replica, /sync, /async: 200 when it holds that role).
func (n *node) status(path string) int { return getStatus(n.api + path) }

// postmasterPID reads the postmaster's pid from its data directory.
func (n *node) postmasterPID(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(n.data, "postmaster.pid"))
	if err != nil {
		t.Fatalf("%s: %v", n.name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		t.Fatalf("%s: postmaster.pid: %v", n.name, err)
	}
	return pid
}

func (n *node) stopPostgres(t *testing.T) {
	if _, err := os.Stat(filepath.Join(n.data, "postmaster.pid")); err != nil {
		return
	}
	_ = asPostgres(t, filepath.Join(pgBin, "pg_ctl"), "-D", n.data, "stop", "-m", "immediate", "-w", "-t", "10").Run()
}

// TestPatroniFailover is issue 20's failover test: etcd and a 2-node
// Patroni cluster (Postgres 15), `sesame serve` on a multi-host URL, a
// load of client_credentials issuance and introspection, and a SIGKILL of
// the primary's postmaster. It measures the time until Sesame serves
// again and checks that the gap is answered with 503
// temporarily_unavailable only, quickly, and never 500; with
// synchronous_mode every token answered 200 still introspects active
// after the failover; with asynchronous replication the tokens lost (and
// the window they were issued in) are measured and logged.
func TestPatroniFailover(t *testing.T) {
	need(t, "etcd (Debian etcd-server)", "/usr/bin/etcd")
	need(t, "Patroni (Debian patroni)", "/usr/bin/patroni")
	need(t, "Postgres 15 server", filepath.Join(pgBin, "postgres"), filepath.Join(pgBin, "pg_ctl"))
	postgresUser(t)
	bin := buildSesame(t) // not counted: a cold build cache takes minutes on a small machine
	deadline := time.Now().Add(170 * time.Second)
	dir := workDir(t)
	etcd := startEtcd(t, dir)

	for _, mode := range []struct {
		name        string
		synchronous bool
	}{{"synchronous", true}, {"asynchronous", false}} {
		t.Run(mode.name, func(t *testing.T) {
			if time.Until(deadline) < 60*time.Second {
				t.Fatalf("less than 60 s left of the test's bound before the %s run", mode.name)
			}
			failover(t, bin, dir, etcd, mode.name, mode.synchronous)
		})
	}
}

func failover(t *testing.T, bin, dir, etcd, scope string, synchronous bool) {
	sub := filepath.Join(dir, scope)
	if err := os.MkdirAll(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	chown(t, sub)
	n1 := startNode(t, sub, etcd, "sesame-"+scope, "node1", synchronous)
	if took, ok := waitFor(60*time.Second, func() bool { return n1.status("/primary") == http.StatusOK }); !ok {
		t.Fatalf("node1 not primary after %s:\n%s", took, n1.proc.tail())
	}
	n2 := startNode(t, sub, etcd, "sesame-"+scope, "node2", synchronous)
	role := "/async"
	if synchronous {
		role = "/sync"
	}
	if took, ok := waitFor(60*time.Second, func() bool { return n2.status(role) == http.StatusOK }); !ok {
		t.Fatalf("node2 not a %s replica after %s:\n%s", role, took, n2.proc.tail())
	}

	dsn := fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/postgres?sslmode=disable&target_session_attrs=read-write&connect_timeout=3",
		n1.pgPort, n2.pgPort)
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	env := sesameEnv(dsn, listen)
	in := startSesame(t, bin, sub, "sesame", listen, env)
	c := createClient(t, bin, env, "load", "read")
	rs := createClient(t, bin, env, "rs", "sesame:introspect")

	rec := &recorder{}
	ctx, cancel := context.WithCancel(t.Context())
	wg := drive(ctx, []string{in.base}, c, rs, 4, rec)
	defer func() { cancel(); wg.Wait() }()

	// /readyz during the whole run, every 100 ms.
	type probeResult struct {
		at     time.Time
		status int
	}
	probes := make(chan probeResult, 4096)
	go func() {
		for ctx.Err() == nil {
			at := time.Now()
			select {
			case probes <- probeResult{at, getStatus(in.base + "/readyz")}:
			default:
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()

	if _, ok := waitFor(20*time.Second, func() bool {
		_, ok := rec.firstOKAfter("introspect", time.Time{})
		return ok
	}); !ok {
		t.Fatalf("no token issued and introspected before the failover: %s\n%s", countLabels(rec.snapshot()), in.proc.tail())
	}
	time.Sleep(3 * time.Second) // steady load

	primary, replica := n1, n2
	if n2.status("/primary") == http.StatusOK {
		primary, replica = n2, n1
	}
	pid := primary.postmasterPID(t)
	killedAt := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill the primary's postmaster %d: %v", pid, err)
	}

	promoted, ok := waitFor(failoverBound, func() bool { return replica.status("/primary") == http.StatusOK })
	if !ok {
		t.Fatalf("%s not promoted %s after the kill:\n%s", replica.name, promoted, replica.proc.tail())
	}
	promotedAt := time.Now()
	if _, ok := waitFor(failoverBound, func() bool {
		_, ok1 := rec.firstOKAfter("token", promotedAt)
		_, ok2 := rec.firstOKAfter("introspect", promotedAt)
		return ok1 && ok2
	}); !ok {
		t.Fatalf("Sesame does not serve %s after the kill: %s\n%s", failoverBound, countLabels(rec.snapshot()), in.proc.tail())
	}
	time.Sleep(3 * time.Second) // serve on the new primary a while
	cancel()
	wg.Wait()

	// The gap: from the first failed answer after the kill to the last.
	all := rec.snapshot()
	var firstFail, lastFail time.Time
	for _, r := range all {
		if r.status != http.StatusOK && !r.done.Before(killedAt) {
			if firstFail.IsZero() || r.done.Before(firstFail) {
				firstFail = r.done
			}
			if r.done.After(lastFail) {
				lastFail = r.done
			}
		}
	}
	if firstFail.IsZero() {
		t.Fatalf("no request failed after the kill: the primary was not lost? %s", countLabels(all))
	}
	back := time.Time{} // first token answered 200 that was asked for after the last failure
	var gap, bad, issued []result
	var tokens []string
	var slowest time.Duration
	for _, r := range all {
		if r.op == "token" && r.status == http.StatusOK && r.at.After(lastFail) && (back.IsZero() || r.done.Before(back)) {
			back = r.done
		}
		if !r.done.Before(killedAt) && !r.at.After(lastFail) {
			gap = append(gap, r)
		}
		if d := r.done.Sub(r.at); d > slowest {
			slowest = d
		}
		switch {
		case r.status == http.StatusOK:
			if r.op == "token" {
				issued = append(issued, r)
				tokens = append(tokens, r.token)
			} else if !r.active {
				bad = append(bad, r)
			}
		case r.status == http.StatusServiceUnavailable && r.code == "temporarily_unavailable":
		default:
			bad = append(bad, r)
		}
		if d := r.done.Sub(r.at); d > requestBound {
			t.Errorf("%s sent at kill%+.3fs took %s: it must fail fast", r.op, r.at.Sub(killedAt).Seconds(), d)
		}
	}
	if back.IsZero() {
		t.Fatalf("no token issued after the last failure at kill+%.1fs: %s", lastFail.Sub(killedAt).Seconds(), countLabels(all))
	}
	if d := back.Sub(killedAt); d > failoverBound {
		t.Errorf("Sesame served again %s after the kill, want under %s", d, failoverBound)
	}
	for i, r := range bad {
		if i == 10 {
			t.Errorf("… %d more", len(bad)-10)
			break
		}
		t.Errorf("%s sent at kill%+.3fs: %s (active %v, err %v); want 200 (active) or 503 temporarily_unavailable",
			r.op, r.at.Sub(killedAt).Seconds(), r.label(), r.active, r.err)
	}

	var ready, notReady int
	var lastProbe probeResult
	for len(probes) > 0 {
		p := <-probes
		if !p.at.Before(firstFail) && p.at.Before(back) {
			if p.status == http.StatusOK {
				ready++
			} else {
				notReady++
			}
		}
		lastProbe = p
	}
	if lastProbe.status != http.StatusOK {
		t.Errorf("/readyz after the failover: %d", lastProbe.status)
	}

	// Every token answered 200 must be in the new primary.
	lost := introspectAll(t, in.base, rs, tokens)
	// When the lost tokens were answered, relative to the kill.
	var lostFrom, lostTo time.Duration
	nLost := 0
	for _, r := range issued {
		if !lost[r.token] {
			continue
		}
		d := r.done.Sub(killedAt)
		if nLost == 0 || d < lostFrom {
			lostFrom = d
		}
		if nLost == 0 || d > lostTo {
			lostTo = d
		}
		nLost++
	}
	lostWhen := ""
	if nLost > 0 {
		lostWhen = fmt.Sprintf(" (answered between kill%+.3fs and kill%+.3fs)", lostFrom.Seconds(), lostTo.Seconds())
	}
	t.Logf("measured: %s replication: Patroni promoted %s %.1fs after SIGKILL of the primary's postmaster; "+
		"Sesame failed requests from kill%+.1fs to kill%+.1fs and issued tokens again at kill%+.1fs; "+
		"answers during the gap: %s; /readyz during the gap: %d not ready, %d ready; slowest request %.2fs; "+
		"tokens answered 200: %d, not active after the failover: %d%s",
		scope, replica.name, promoted.Seconds(), firstFail.Sub(killedAt).Seconds(), lastFail.Sub(killedAt).Seconds(),
		back.Sub(killedAt).Seconds(), countLabels(gap), notReady, ready, slowest.Seconds(), len(issued), nLost, lostWhen)
	if synchronous && len(lost) > 0 {
		t.Errorf("synchronous_mode: %d of %d tokens answered 200 do not introspect active after the failover", len(lost), len(issued))
	}
	if len(issued) < 20 {
		t.Errorf("only %d tokens issued: the load did not run", len(issued))
	}
}

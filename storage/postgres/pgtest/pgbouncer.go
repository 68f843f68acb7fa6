package pgtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// PgBouncerINI is the pgbouncer.ini the tests run (docs/deploy.md quotes
// it): transaction pooling, trust auth on loopback. The %s are the
// database line, the listen port and the directory of the pid, log and
// socket files.
const PgBouncerINI = `[databases]
%s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir = %s
auth_type = trust
auth_file = %s/userlist.txt
pool_mode = transaction
max_client_conn = 500
default_pool_size = 20
server_reset_query =
server_check_query = select 1
server_check_delay = 5
ignore_startup_parameters = extra_float_digits,options
`

// RunAs returns a command running name as the postgres user when the test
// runs as root (Postgres and PgBouncer refuse root), else as is.
func RunAs(t testing.TB, dir string, name string, args ...string) *exec.Cmd {
	t.Helper()
	if os.Geteuid() != 0 {
		return exec.Command(name, args...)
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Skipf("running as root and no postgres user to run %s as: %v", name, err)
	}
	if dir != "" {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		_ = filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
			if err == nil {
				_ = os.Chown(p, uid, gid)
			}
			return err
		})
	}
	return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
}

// Need skips the test when binary is not installed, and fails it when CI
// is set: CI must never silently skip these tests.
func Need(t testing.TB, binary string) string {
	t.Helper()
	p, err := exec.LookPath(binary)
	if err != nil {
		for _, d := range []string{"/usr/sbin", "/usr/lib/postgresql/15/bin"} {
			if _, serr := os.Stat(filepath.Join(d, binary)); serr == nil {
				return filepath.Join(d, binary)
			}
		}
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not installed but CI is set (.ci/run installs it)", binary)
		}
		t.Skipf("%s not installed; skipping", binary)
	}
	return p
}

// FreePort returns a loopback port nobody listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// PgBouncer starts a PgBouncer in transaction pooling mode in front of
// the database of target (a postgres:// URL) and returns the URL of the
// same database through it. It stops when the test ends.
func PgBouncer(t testing.TB, target string) string {
	t.Helper()
	bin := Need(t, "pgbouncer")
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("pgtest: parse %s: %v", target, err)
	}
	db := strings.TrimPrefix(u.Path, "/")
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		host, port = u.Host, "5432"
	}
	dir, err := os.MkdirTemp("", "sesame-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	lport := FreePort(t)
	line := fmt.Sprintf("%s = host=%s port=%s dbname=%s", db, host, port, db)
	ini := fmt.Sprintf(PgBouncerINI, line, lport, dir, dir)
	if err := os.WriteFile(filepath.Join(dir, "pgbouncer.ini"), []byte(ini), 0o644); err != nil {
		t.Fatal(err)
	}
	userName := u.User.Username()
	if err := os.WriteFile(filepath.Join(dir, "userlist.txt"), []byte(fmt.Sprintf("%q \"\"\n", userName)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := RunAs(t, dir, bin, filepath.Join(dir, "pgbouncer.ini"))
	logf, err := os.Create(filepath.Join(dir, "out.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("pgtest: start pgbouncer: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		logf.Close()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", lport), time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			out, _ := os.ReadFile(filepath.Join(dir, "out.log"))
			t.Fatalf("pgtest: pgbouncer exited: %s", out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pgtest: pgbouncer did not listen on %d", lport)
		}
		time.Sleep(50 * time.Millisecond)
	}
	p := *u
	p.Host = fmt.Sprintf("127.0.0.1:%d", lport)
	return p.String()
}

// Wait polls cond every 50ms until it holds or d passed.
func Wait(ctx context.Context, d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) && ctx.Err() == nil {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cond()
}

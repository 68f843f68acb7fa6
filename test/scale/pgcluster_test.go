package scale_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
)

// privatePG is a throwaway Postgres cluster owned by one test, so that the
// test may stop and start it without touching the shared server other
// packages' tests use at the same time.
type privatePG struct {
	t    *testing.T
	bin  string
	dir  string
	port int
	run  func(name string, args ...string) *exec.Cmd
}

// pgBinDirs are where Debian and the official images put the server
// binaries.
var pgBinDirs = []string{"/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin", "/usr/local/bin"}

// newPrivatePG initdb's a cluster in a fresh directory and starts it on a
// free loopback port. Without the binaries the test is skipped, unless CI
// is set.
func newPrivatePG(t *testing.T) *privatePG {
	t.Helper()
	bin := ""
	for _, d := range pgBinDirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			bin = d
			break
		}
	}
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("Postgres server binaries (initdb, pg_ctl) not found but CI is set")
		}
		t.Skip("Postgres server binaries (initdb, pg_ctl) not found")
	}
	// Not t.TempDir: its parent is private to root, and Postgres refuses
	// to run as root, so the cluster must live where its user can reach.
	dir, err := os.MkdirTemp("", "sesame-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p := &privatePG{t: t, bin: bin, dir: dir, port: freePort(t)}
	p.run = exec.Command
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skipf("running as root and no postgres user to run the server as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		p.run = func(name string, args ...string) *exec.Cmd {
			return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
		}
	}
	t.Cleanup(func() {
		_ = p.cmd("pg_ctl", "-D", p.data(), "stop", "-m", "immediate").Run()
		_ = os.RemoveAll(dir)
	})
	p.must("initdb", "-D", p.data(), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
	p.Start()
	return p
}

func (p *privatePG) data() string { return filepath.Join(p.dir, "data") }

func (p *privatePG) cmd(name string, args ...string) *exec.Cmd {
	return p.run(filepath.Join(p.bin, name), args...)
}

func (p *privatePG) must(name string, args ...string) {
	p.t.Helper()
	if out, err := p.cmd(name, args...).CombinedOutput(); err != nil {
		p.t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// URL is the connection URL of the cluster's postgres database.
func (p *privatePG) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// Start starts the server and waits until it accepts connections.
func (p *privatePG) Start() {
	p.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", p.port, p.dir)
	p.must("pg_ctl", "-D", p.data(), "-o", opts, "-l", filepath.Join(p.dir, "log"), "-w", "start")
}

// Stop shuts the server down at once, closing every client connection.
func (p *privatePG) Stop() {
	p.t.Helper()
	p.must("pg_ctl", "-D", p.data(), "-m", "fast", "-w", "stop")
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

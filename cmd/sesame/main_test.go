package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// binary is the real sesame executable, built once for the package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sesame-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "sesame")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build sesame:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cli runs the binary with a clean SESAME_* environment.
type cli struct {
	t   *testing.T
	dir string
	env []string
}

func newCLI(t *testing.T, databaseURL string, extraEnv ...string) *cli {
	t.Helper()
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SESAME_") {
			env = append(env, kv)
		}
	}
	env = append(env, "SESAME_DATABASE_URL="+databaseURL,
		// Cheapest argon2 cost config accepts, to keep the suite quick.
		"SESAME_ARGON2_MEMORY_KIB=7168", "SESAME_ARGON2_ITERATIONS=5",
		"SESAME_SHUTDOWN_DELAY=0") // serve tests stop the server at once
	env = append(env, extraEnv...)
	return &cli{t: t, dir: t.TempDir(), env: env}
}

type result struct {
	stdout, stderr string
	code           int
}

func (c *cli) run(stdin string, args ...string) result {
	c.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = c.dir
	cmd.Env = c.env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		c.t.Fatalf("sesame %v: timed out", args)
	}
	return result{out.String(), errb.String(), cmd.ProcessState.ExitCode()}
}

// ok runs a command that must succeed.
func (c *cli) ok(stdin string, args ...string) string {
	c.t.Helper()
	r := c.run(stdin, args...)
	if r.code != 0 {
		c.t.Fatalf("sesame %s: exit %d\nstderr: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// fails runs a command that must fail with exactly one stderr line.
func (c *cli) fails(wantCode int, wantMsg string, stdin string, args ...string) {
	c.t.Helper()
	r := c.run(stdin, args...)
	if r.code != wantCode {
		c.t.Fatalf("sesame %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, wantCode, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "sesame: ") {
		c.t.Fatalf("sesame %s: stderr should be one 'sesame: …' line, got %q", strings.Join(args, " "), r.stderr)
	}
	if !strings.Contains(lines[0], wantMsg) {
		c.t.Fatalf("sesame %s: stderr %q should contain %q", strings.Join(args, " "), lines[0], wantMsg)
	}
}

func (c *cli) json(v any, stdin string, args ...string) {
	c.t.Helper()
	out := c.ok(stdin, args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("sesame %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
}

package main

import (
	"os"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/internal/config"
)

// TestREADMEMatchesCode keeps the README's promises true: every setting is
// documented with its default, and the test command it gives is the one
// CI runs.
func TestREADMEMatchesCode(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range config.Settings() {
		row := "| `" + s.Env + "` |"
		i := strings.Index(string(readme), row)
		if i < 0 {
			t.Errorf("README lacks a row for %s", s.Env)
			continue
		}
		line := string(readme[i:])
		line = line[:strings.Index(line, "\n")]
		if s.Default != "" && !strings.Contains(line, "`"+s.Default+"`") {
			t.Errorf("README row of %s does not show default %q: %s", s.Env, s.Default, line)
		}
	}
	const testCmd = "go test -race -count=1 -timeout 45m ./..."
	if !strings.Contains(string(readme), testCmd) || !strings.Contains(string(ci), testCmd) {
		t.Errorf("README and .ci/run must both run %q", testCmd)
	}
	if !strings.Contains(string(readme), "go run ./cmd/sesame serve") {
		t.Error("README lacks the demo command")
	}
}

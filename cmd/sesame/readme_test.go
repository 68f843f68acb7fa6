package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/internal/config"
)

// readmeRow is one row of the README's configuration table.
type readmeRow struct {
	env, flag, line string
	anyCommand      bool
}

var rowRE = regexp.MustCompile("^\\| `(SESAME_[A-Z0-9_]+)` \\| `(?:serve )?(--[a-z0-9-]+)`( \\(any command\\))? \\|")

func readmeRows(t *testing.T) (string, map[string]readmeRow) {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]readmeRow{}
	for _, line := range strings.Split(string(readme), "\n") {
		if !strings.HasPrefix(line, "| `SESAME_") {
			continue
		}
		m := rowRE.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("README settings row not in the form | `SESAME_X` | `--x` | …: %s", line)
			continue
		}
		if _, dup := rows[m[1]]; dup {
			t.Errorf("README lists %s twice", m[1])
		}
		rows[m[1]] = readmeRow{env: m[1], flag: m[2], line: line, anyCommand: m[3] != ""}
	}
	return string(readme), rows
}

// TestREADMEMatchesCode keeps the README's promises true: every setting is
// documented with its default, and the test command it gives is the one
// CI runs.
func TestREADMEMatchesCode(t *testing.T) {
	readme, rows := readmeRows(t)
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range config.Settings() {
		row, ok := rows[s.Env]
		if !ok {
			t.Errorf("README lacks a row for %s", s.Env)
			continue
		}
		if s.Default != "" && !strings.Contains(row.line, "`"+s.Default+"`") {
			t.Errorf("README row of %s does not show default %q: %s", s.Env, s.Default, row.line)
		}
	}
	const testCmd = "go test -race -count=1 -timeout 45m ./..."
	if !strings.Contains(readme, testCmd) || !strings.Contains(string(ci), testCmd) {
		t.Errorf("README and .ci/run must both run %q", testCmd)
	}
	if !strings.Contains(readme, "go build -tags nomsgpack -o sesame ./cmd/sesame") {
		t.Error("README lacks the install line")
	}
}

// TestREADMESettingsTableMatchesFlags checks every row of the table against
// the real cobra command tree: the env name is a setting, the flag exists
// where the row says (global or on serve), has the setting's type and
// default, and the YAML key the README's rule derives is accepted.
func TestREADMESettingsTableMatchesFlags(t *testing.T) {
	_, rows := readmeRows(t)
	root := newRootCmd(&env{stdout: os.Stdout, stderr: os.Stderr})
	serve, _, err := root.Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for env, row := range rows {
		s, ok := config.Lookup(env)
		if !ok {
			t.Errorf("README documents %s, which is not a setting", env)
			continue
		}
		if env == "SESAME_AUTO_MIGRATE" {
			if row.flag != "--no-migrate" || serve.Flags().Lookup("no-migrate") == nil {
				t.Errorf("SESAME_AUTO_MIGRATE should be documented as serve --no-migrate: %s", row.line)
			}
		} else {
			if row.flag != "--"+s.Flag() {
				t.Errorf("README row of %s names flag %s, want --%s", env, row.flag, s.Flag())
			}
			global := root.PersistentFlags().Lookup(s.Flag())
			local := serve.Flags().Lookup(s.Flag())
			switch {
			case row.anyCommand && global == nil:
				t.Errorf("README says %s works on any command, but it is not a global flag", row.flag)
			case !row.anyCommand && local == nil:
				t.Errorf("README lists %s for serve, but `sesame serve` has no such flag", row.flag)
			}
			f := global
			if f == nil {
				f = local
			}
			if f != nil {
				if f.Value.Type() != string(s.Kind) {
					t.Errorf("%s: --help type %q, want %q", row.flag, f.Value.Type(), s.Kind)
				}
				if f.DefValue != s.Default {
					t.Errorf("%s: flag default %q, setting default %q", row.flag, f.DefValue, s.Default)
				}
				if strings.Contains(f.Usage, "`") {
					t.Errorf("%s: backquotes in usage become a bogus type name in --help", row.flag)
				}
			}
		}
		// The YAML key is the env name without the prefix, lower case.
		if s.Secret {
			continue
		}
		key := strings.ToLower(strings.TrimPrefix(env, "SESAME_"))
		file := filepath.Join(dir, key+".yaml")
		val := s.Default
		if val == "" {
			continue
		}
		if err := os.WriteFile(file, []byte(key+": "+val+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := config.Load(config.Sources{File: file, LookupEnv: func(string) (string, bool) { return "", false }}); err != nil {
			t.Errorf("YAML key %s from the README's rule: %v", key, err)
		}
	}
}

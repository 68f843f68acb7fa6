// Package packagemap holds the one test of STYLE.md's package map: every
// package of the module may import only what its row allows, so a
// wrong-way import fails here rather than in review. stores_test.go holds
// its storage rule: each consumer takes the narrow store it uses, the
// whole storage.Store only the wiring.
package packagemap

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/sesameauth/sesame"

// foundations are the helpers under internal/ that know nothing above
// them (they import storage at most, and internal/secret for hashing and
// sealing). Every layer may use them. STYLE.md names keys, session,
// password and httpx; secret, throttle, metrics, notify and janitor are
// the same kind of package.
var foundations = []string{
	"internal/keys", "internal/session", "internal/password", "internal/httpx",
	"internal/secret", "internal/throttle", "internal/metrics", "internal/notify", "internal/janitor",
	"internal/dpop",
}

// rule is one row of the map: the module packages (relative to the module
// path; "x/..." means x and everything below) a package may import.
type rule struct {
	may []string
	// foundations: the row may also import every foundation package.
	foundations bool
}

// packageMap is STYLE.md's table. A package matches the longest pattern.
var packageMap = map[string]rule{
	"cmd/sesame":            {may: []string{"internal/app", "internal/config", "internal/server", "internal/importer/...", "storage/...", "migrations"}, foundations: true},
	"cmd/sesame-bench":      {may: []string{"internal/bench/..."}},
	"cmd/...":               {may: []string{"rs/..."}}, // example APIs and MCP servers use the kit only
	"examples/...":          {may: []string{"rs/..."}},
	"internal/server":       {may: []string{"..."}},
	"internal/config":       {may: []string{"internal/secret", "web/ui"}},
	"internal/app":          {may: []string{"internal/keys", "internal/password", "internal/throttle", "internal/secret", "internal/mail", "internal/mfa", "storage"}},
	"internal/importer/...": {may: []string{"internal/app", "storage"}},
	"internal/admin":        {may: []string{"internal/app", "oauth", "storage"}, foundations: true},
	"internal/mail":         {may: []string{"storage"}, foundations: true},
	"internal/mfa":          {may: []string{"internal/secret", "storage"}},
	"internal/upstream/...": {may: []string{"internal/httpx", "storage"}, foundations: true},
	"internal/demo":         {may: []string{"internal/secret", "web/ui"}},                  // the demo RP renders with the UI's templates
	"internal/cimd":         {may: []string{"internal/app", "storage"}, foundations: true}, // metadata-document clients pass app.ValidateClient
	"internal/bench/...":    {},
	"internal/...":          {may: []string{"storage"}, foundations: true}, // any other helper is a foundation
	"oauth/...":             {may: []string{"internal/app", "storage"}, foundations: true},
	"oidc/...":              {may: []string{"oauth", "internal/app", "storage", "web/ui"}, foundations: true},
	"web":                   {may: []string{"internal/app", "internal/mfa", "internal/upstream/...", "web/ui", "storage"}, foundations: true},
	"web/ui":                {},
	"rs/...":                {may: []string{"internal/dpop"}}, // the resource-server kit pulls in nothing of the server; the DPoP proof checker is a leaf
	"internal/dpop":         {},                               // RFC 9449 proofs: shared by oauth, oidc and rs, imports nothing of Sesame
	"storage":               {},
	"storage/storagetest":   {may: []string{"storage"}},
	"storage/dial":          {may: []string{"storage/...", "migrations"}},
	"storage/...":           {may: []string{"storage", "storage/postgres", "migrations"}},
	"migrations":            {},
	"test/...":              {may: []string{"..."}}, // end-to-end tests boot the whole server
	"scripts/...":           {may: []string{"..."}},
}

// outside is who may import a few third-party packages: fosite stays in
// oauth (STYLE: "no fosite type leaves this package"); cobra is the CLI's.
var outside = map[string][]string{
	"github.com/ory/fosite":         {"oauth/..."},
	"github.com/go-jose/go-jose/v3": {"oauth/..."},
	"github.com/spf13/cobra":        {"cmd/..."},
}

// debt lists imports the map forbids that the code still has, each with
// the issue that removes it. The test fails when one disappears too, so
// the list only shrinks.
var debt = map[string]string{}

func matches(pattern, pkg string) bool {
	if pattern == "..." {
		return true
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pkg == pattern
}

// ruleFor returns the row of the longest matching pattern.
func ruleFor(pkg string) (string, rule, bool) {
	best := ""
	for p := range packageMap {
		if matches(p, pkg) && len(strings.TrimSuffix(p, "...")) > len(strings.TrimSuffix(best, "...")) {
			best = p
		}
	}
	r, ok := packageMap[best]
	return best, r, ok
}

func allowed(r rule, imp string) bool {
	for _, p := range r.may {
		if matches(p, imp) {
			return true
		}
	}
	return r.foundations && slices.Contains(foundations, imp)
}

type listed struct {
	ImportPath string
	Dir        string
	Imports    []string
}

func listModule(t *testing.T) []listed {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Dir,Imports", module+"/...")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []listed
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages; expected the whole module", len(pkgs))
	}
	return pkgs
}

// TestPackageMap checks every non-test import of every package against
// the map (test files may reach further: fixtures, the whole server).
func TestPackageMap(t *testing.T) {
	seenDebt := map[string]bool{}
	for _, p := range listModule(t) {
		pkg, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			continue
		}
		row, r, ok := ruleFor(pkg)
		if !ok {
			t.Errorf("%s has no row in the package map (test/packagemap): add one", pkg)
			continue
		}
		for _, imp := range p.Imports {
			edge := pkg + " -> " + imp
			if in, ok := strings.CutPrefix(imp, module+"/"); ok {
				edge = pkg + " -> " + in
				if in == "internal/server" && !matches("cmd/...", pkg) && !matches("test/...", pkg) {
					t.Errorf("%s imports internal/server: only cmd and the end-to-end tests may", pkg)
				}
				if !allowed(r, in) {
					if _, known := debt[edge]; known {
						seenDebt[edge] = true
						continue
					}
					t.Errorf("%s imports %s, which its row %q does not allow", pkg, in, row)
				}
				continue
			}
			for lib, who := range outside {
				if imp != lib && !strings.HasPrefix(imp, lib+"/") {
					continue
				}
				ok := slices.ContainsFunc(who, func(w string) bool { return matches(w, pkg) })
				if ok {
					continue
				}
				if _, known := debt[pkg+" -> "+lib]; known {
					seenDebt[pkg+" -> "+lib] = true
					continue
				}
				t.Errorf("%s imports %s, which only %v may", pkg, imp, who)
			}
		}
	}
	for edge, why := range debt {
		if !seenDebt[edge] {
			t.Errorf("debt %q (%s) is gone: remove it from the list", edge, why)
		}
	}
}

// TestMapCatchesWrongWayImports makes sure the rules bite: a few imports
// the map must refuse.
func TestMapCatchesWrongWayImports(t *testing.T) {
	for _, c := range []struct{ pkg, imp string }{
		{"web", "oauth"},
		{"web", "oidc"},
		{"internal/app", "oauth"},
		{"internal/app", "web"},
		{"storage", "internal/secret"},
		{"internal/session", "internal/app"},
		{"cmd/sesame", "oauth"},
		{"cmd/sesame", "internal/admin"},
		{"oauth", "oidc"},
		{"oauth", "web"},
		{"internal/mfa", "web"},
		{"rs", "storage"},
		{"internal/newthing", "internal/app"},
	} {
		_, r, ok := ruleFor(c.pkg)
		if !ok {
			t.Fatalf("%s has no row", c.pkg)
		}
		if allowed(r, c.imp) {
			t.Errorf("the map lets %s import %s", c.pkg, c.imp)
		}
	}
}

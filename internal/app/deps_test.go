package app

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportDirection keeps the package map of STYLE.md true for the
// foundation packages: use cases, configuration and password hashing know
// nothing of HTTP, the protocol engine, the backends or the CLI.
func TestImportDirection(t *testing.T) {
	forbidden := []string{
		"github.com/gin-gonic/gin", "github.com/ory/fosite", "github.com/spf13/cobra",
		"github.com/sesameauth/sesame/internal/server", "github.com/sesameauth/sesame/cmd/",
		"github.com/sesameauth/sesame/oauth", "github.com/sesameauth/sesame/web",
		"github.com/sesameauth/sesame/storage/sqlite", "github.com/sesameauth/sesame/storage/postgres",
	}
	for _, pkg := range []string{"./", "../config", "../password"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if dep == f || strings.HasPrefix(dep, f+"/") || (strings.HasSuffix(f, "/") && strings.HasPrefix(dep, f)) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}

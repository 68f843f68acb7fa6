package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCLIReachesTheProtocolOnlyThroughAppAndServer keeps STYLE.md's rule
// for the command tree (issue 12): cmd/sesame imports neither the protocol
// package nor the admin API, nor fosite; use cases live in internal/app and
// serving in internal/server.
func TestCLIReachesTheProtocolOnlyThroughAppAndServer(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, imp := range strings.Fields(string(out)) {
		switch {
		case imp == "github.com/sesameauth/sesame/oauth",
			imp == "github.com/sesameauth/sesame/oidc",
			imp == "github.com/sesameauth/sesame/internal/admin",
			strings.HasPrefix(imp, "github.com/ory/fosite"):
			t.Errorf("cmd/sesame imports %s", imp)
		}
	}
}

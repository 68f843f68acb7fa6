package oidc_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOIDCDoesNotImportWeb: oidc renders through web/ui but must not
// depend on the web handlers (STYLE.md package map).
func TestOIDCDoesNotImportWeb(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/sesameauth/sesame/oidc").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "github.com/sesameauth/sesame/web" {
			t.Error("oidc depends on package web")
		}
	}
}

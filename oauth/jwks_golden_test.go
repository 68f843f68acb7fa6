package oauth

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/internal/keys"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestJWKSShape pins the JWKS document's shape against a golden file: per
// key, the members it has and the values that do not change between runs
// (kty, alg, use, crv). Clients depend on this shape (a missing alg or use,
// or private material, breaks them or worse); key material and kid change
// every run and are left out. Regenerate with: go test ./oauth -run
// TestJWKSShape -update
func TestJWKSShape(t *testing.T) {
	e := newEnv(t, backends[0], func(_ *Config, o *keys.Options) { o.Algorithms = keys.Supported() })
	res, err := e.http.Get(e.srv.URL + PathJWKS)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/") {
		t.Fatalf("jwks: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, k := range doc.Keys {
		members := make([]string, 0, len(k))
		for m := range k {
			members = append(members, m)
		}
		slices.Sort(members)
		lines = append(lines, fmt.Sprintf("kty=%v alg=%v use=%v crv=%v members=%s", k["kty"], k["alg"], k["use"], k["crv"], strings.Join(members, ",")))
	}
	slices.Sort(lines)
	got := strings.Join(lines, "\n") + "\n"
	path := filepath.Join("testdata", "jwks-shape.golden")
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("JWKS shape changed (if on purpose, run with -update):\n got:\n%s\nwant:\n%s", got, want)
	}
}

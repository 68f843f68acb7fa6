package admin

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/storage/sqlite"
)

func TestNewRejectsMissingDependencies(t *testing.T) {
	_, err := New(Deps{Issuer: "not a url"})
	if err == nil {
		t.Fatal("New accepted empty dependencies")
	}
	for _, want := range []string{"App", "Store", "Keys", "Tokens", "Ring", "Issuer"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// TestStoreOutageIsAServerErrorWithoutDetail: an infrastructure failure
// is a 500 server_error that says nothing about the database.
func TestStoreOutageIsAServerErrorWithoutDetail(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "sesame.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, st)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/admin/clients", "/oauth2/register/some-client"} {
		r := e.call(http.MethodGet, path, e.adminToken, nil)
		if r.status != http.StatusInternalServerError {
			t.Fatalf("%s: status %d, want 500: %s", path, r.status, r.body)
		}
		got := r.apiErr(t)
		if got.Code != "server_error" || strings.Contains(strings.ToLower(got.Description), "sql") || strings.Contains(got.Description, "closed") {
			t.Fatalf("%s: error %+v leaks detail or has the wrong code", path, got)
		}
	}
}

package security

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/config"
)

// TestSQLiteFilesPrivate (issue 13 item 18): the SQLite database holds
// hashed secrets, sealed token sessions and the audit log; it and its -wal
// and -shm files are created 0600, not 0644 as SQLite does under the
// common umask 022 (set here so the test does not depend on the
// environment's umask). SQLite only: Postgres files are the server's.
func TestSQLiteFilesPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	db := filepath.Join(t.TempDir(), "sesame.db")
	s := newServer(t, func(c *config.Config) { c.DatabaseURL = "sqlite:" + db })
	c, sec := s.client(app.ClientSpec{Name: "svc", GrantTypes: []string{"client_credentials"}, Scopes: []string{"api:read"}})
	wantTokens(t, s.token(url.Values{"grant_type": {"client_credentials"}}, c.ID, sec)) // writes through the WAL
	for _, name := range []string{db, db + "-wal", db + "-shm"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s has mode %o, want 600", strings.TrimPrefix(name, filepath.Dir(db)+"/"), m)
		}
	}
}

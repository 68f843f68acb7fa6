package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/oauth"
)

// TestInteropScripts runs test/drf/run.sh and test/node/run.sh (Django REST
// Framework and Node jose resource servers) against a real Sesame. They need
// Debian's python3-djangorestframework-simplejwt and npm access, so they are
// opt-in: RS_INTEROP=1 go test -run Interop ./rs/integration/
func TestInteropScripts(t *testing.T) {
	if os.Getenv("RS_INTEROP") == "" {
		t.Skip("set RS_INTEROP=1 to run the DRF and Node interop scripts")
	}
	s := startSesame(t)
	jwtSec := s.client("interop-jwt", oauth.FormatJWT, "api:read")
	opaqueSec := s.client("interop-opaque", oauth.FormatOpaque, "api:read")
	rsSec := s.client("interop-rs", "", oauth.ScopeIntrospect)
	env := append(os.Environ(),
		"SESAME_ISSUER="+s.URL,
		"SESAME_CLIENT_ID=interop-jwt", "SESAME_CLIENT_SECRET="+jwtSec,
		"SESAME_OPAQUE_CLIENT_ID=interop-opaque", "SESAME_OPAQUE_CLIENT_SECRET="+opaqueSec,
		"SESAME_INTROSPECT_CLIENT_ID=interop-rs", "SESAME_INTROSPECT_CLIENT_SECRET="+rsSec,
	)
	for _, tc := range []struct {
		script   string
		audience string
		wantPass bool
	}{
		{"drf", audience, true},
		{"node", audience, true},
		// The scripts must be able to fail: an API expecting another
		// audience refuses Sesame's token, so the run reports FAIL.
		{"drf", "https://another-api.example.test", false},
		{"node", "https://another-api.example.test", false},
	} {
		t.Run(fmt.Sprintf("%s/audience=%s", tc.script, tc.audience), func(t *testing.T) {
			path, err := filepath.Abs(filepath.Join("..", "..", "test", tc.script, "run.sh"))
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.CommandContext(t.Context(), "bash", path)
			cmd.Env = append(env, "RS_AUDIENCE="+tc.audience)
			cmd.WaitDelay = 5 * time.Second
			out, err := cmd.CombinedOutput()
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			last := lines[len(lines)-1]
			passed := err == nil && strings.HasPrefix(last, "PASS")
			failed := err != nil && strings.HasPrefix(last, "FAIL")
			if (tc.wantPass && !passed) || (!tc.wantPass && !failed) {
				t.Fatalf("exit %v, output:\n%s", err, out)
			}
			t.Log(last)
		})
	}
}

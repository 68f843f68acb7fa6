package upstream

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestWhatAnUpstreamSendsIsBounded: an upstream is a stranger too.
func TestWhatAnUpstreamSendsIsBounded(t *testing.T) {
	groups := make([]any, 300)
	for i := range groups {
		groups[i] = fmt.Sprintf("g%d", i)
	}
	groups[0] = strings.Repeat("x", maxGroupBytes+1) // dropped
	id, err := mapClaims(map[string]any{"sub": "s", "groups": groups}, nil, oidcDefaults)
	if err != nil {
		t.Fatal(err)
	}
	if len(id.Groups) != maxGroups-1 || id.Groups[0] != "g1" {
		t.Errorf("%d groups (first %q), want %d without the over-long one", len(id.Groups), id.Groups[0], maxGroups-1)
	}
	if _, err := mapClaims(map[string]any{"sub": "s", "name": strings.Repeat("n", maxFieldBytes+1)}, nil, oidcDefaults); !errors.Is(err, ErrRefused) {
		t.Errorf("an over-long claim: %v, want ErrRefused", err)
	}
	if _, err := mapClaims(map[string]any{"email": "a@b.test"}, nil, oidcDefaults); !errors.Is(err, ErrRefused) {
		t.Errorf("no subject: %v, want ErrRefused", err)
	}
	if _, err := readBody(strings.NewReader(strings.Repeat("a", maxBody+1))); err == nil {
		t.Error("a body over 1 MiB was read")
	}
	if b, err := readBody(strings.NewReader(strings.Repeat("a", maxBody))); err != nil || len(b) != maxBody {
		t.Errorf("a body of exactly 1 MiB: %d bytes, %v", len(b), err)
	}
}

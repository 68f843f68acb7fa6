package oidc

import (
	"reflect"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/oauth"
)

// TestDiscoveryNamesAreDisjoint: an entry of oidc's with the JSON name of
// one of oauth.Metadata's would silently replace it (encoding/json keeps
// the shallower field).
func TestDiscoveryNamesAreDisjoint(t *testing.T) {
	names := func(typ reflect.Type) map[string]bool {
		out := map[string]bool{}
		for f := range typ.Fields() {
			if f.Anonymous {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				t.Errorf("%s.%s has no JSON name", typ, f.Name)
			}
			out[name] = true
		}
		return out
	}
	theirs := names(reflect.TypeFor[oauth.Metadata]())
	for name := range names(reflect.TypeFor[discovery]()) {
		if theirs[name] {
			t.Errorf("%q is both oauth.Metadata's and oidc's", name)
		}
	}
}

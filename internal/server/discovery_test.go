package server

import (
	"slices"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/oidc"
)

// TestDiscoveryAdvertisesMountedEndpoints: every endpoint the discovery
// documents name is a route of this server, under the issuer; the
// entries the root passes in (admin's registration endpoint, client ID
// metadata documents) are there.
func TestDiscoveryAdvertisesMountedEndpoints(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Issuer = "https://id.example.com"
	s, _, _ := newTestServer(t, cfg)
	var routes []string
	for _, r := range s.Engine.Routes() {
		routes = append(routes, r.Method+" "+r.Path)
	}
	for _, p := range []string{oidc.PathOIDCDiscovery, oidc.PathASMetadata} {
		code, doc := get(t, s.Handler(), p)
		if code != 200 || doc["issuer"] != cfg.Issuer {
			t.Fatalf("%s: %d issuer %v", p, code, doc["issuer"])
		}
		n := 0
		for k, v := range doc {
			if !strings.HasSuffix(k, "_endpoint") && k != "jwks_uri" {
				continue
			}
			n++
			path, ok := strings.CutPrefix(v.(string), cfg.Issuer)
			if !ok || !slices.ContainsFunc(routes, func(r string) bool { return strings.HasSuffix(r, " "+path) }) {
				t.Errorf("%s: %s = %v is not a route of the server", p, k, v)
			}
		}
		if n < 10 {
			t.Errorf("%s: only %d endpoints", p, n)
		}
		if doc["registration_endpoint"] != cfg.Issuer+"/oauth2/register" {
			t.Errorf("%s: registration_endpoint = %v", p, doc["registration_endpoint"])
		}
		if doc["client_id_metadata_document_supported"] != cfg.ClientIDMetadataDocuments {
			t.Errorf("%s: client_id_metadata_document_supported = %v, SESAME_CLIENT_ID_METADATA_DOCUMENTS %v",
				p, doc["client_id_metadata_document_supported"], cfg.ClientIDMetadataDocuments)
		}
	}
}

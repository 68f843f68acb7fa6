package security

import (
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/server"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
)

// Client ID metadata documents through the whole server, SQLite and
// Postgres (issue 18): a client_id that is an https URL is fetched — but
// never from a loopback, private, link-local or IPv6-mapped address (the
// document server must not even be reached), and a document naming
// another client_id is refused. The resolver's own limits (size, time,
// redirects, cache) are internal/cimd's tests; this proves the server
// wires it in the production configuration.
func TestClientIDMetadataDocumentsEndToEnd(t *testing.T) {
	var hits atomic.Int64
	var docs *httptest.Server
	docs = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		id := docs.URL + r.URL.Path
		if r.URL.Path == "/other" {
			id = docs.URL + "/someone-else"
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"client_id": id, "client_name": "Agent", "redirect_uris": []string{"http://127.0.0.1:9999/callback"},
			"grant_types": []string{"authorization_code"},
		})
	}))
	t.Cleanup(docs.Close)
	roots := x509.NewCertPool()
	roots.AddCert(docs.Certificate())
	port := docs.URL[strings.LastIndex(docs.URL, ":")+1:]

	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			cfg := baseConfig(t)
			if backend == "postgres" {
				cfg.DatabaseURL = pgtest.URL(t)
			}
			cfg.ClientIDMetadataDocuments = true
			// authorize asks for the document of client_id and answers.
			authorize := func(s *srv, clientID string) resp {
				t.Helper()
				q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {"http://127.0.0.1:9999/callback"},
					"scope": {"openid"}, "state": {"st-" + random(t)}, "code_challenge": {s256(random(t) + random(t))},
					"code_challenge_method": {"S256"}}
				began := time.Now()
				r := s.get("/oauth2/authorize?" + q.Encode())
				if d := time.Since(began); d > 10*time.Second {
					t.Fatalf("%s: answered after %s", clientID, d)
				}
				return r
			}
			// refused: an error page; fetched says whether the document
			// server may be reached (never for an internal address).
			refused := func(s *srv, clientID string, fetched bool) {
				t.Helper()
				before := hits.Load()
				r := authorize(s, clientID)
				if r.status < 400 || r.status >= 500 || r.header.Get("Location") != "" {
					t.Fatalf("%s: %d Location %q, want a 4xx error page and no redirect", clientID, r.status, r.header.Get("Location"))
				}
				if n := hits.Load() - before; (n != 0) != fetched {
					t.Fatalf("%s: the document server was reached %d times (fetched %v); an internal address must be refused before connecting", clientID, n, fetched)
				}
			}

			t.Run("production: internal addresses are never fetched", func(t *testing.T) {
				s := start(t, cfg, server.WithCIMDRootCAsForTests(roots)).with(t)
				for _, id := range []string{
					docs.URL + "/client",                         // 127.0.0.1
					"https://localhost:" + port + "/client",      // a name for loopback
					"https://[::ffff:127.0.0.1]:" + port + "/c",  // IPv6-mapped loopback
					"https://169.254.169.254/latest/meta-data/c", // cloud metadata
					"https://10.0.0.1/c",                         // private
					"https://[fe80::1]/c",                        // link-local
				} {
					refused(s, id, false)
				}
			})

			t.Run("a document naming another client_id", func(t *testing.T) {
				s := start(t, cfg, server.WithCIMDLoopbackForTests(), server.WithCIMDRootCAsForTests(roots)).with(t)
				refused(s, docs.URL+"/other", true)
				// The same server takes a document that names itself: the
				// refusal above is the document's, not the address's.
				r := authorize(s, docs.URL+"/agent")
				if loc := r.header.Get("Location"); r.status != http.StatusSeeOther || !strings.Contains(loc, "/login?flow=") {
					t.Fatalf("a valid document: %d Location %q, want the sign-in page", r.status, loc)
				}
			})
		})
	}
}

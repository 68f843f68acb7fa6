package oidc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/keys"
	"github.com/sesameauth/sesame/internal/session"
	"github.com/sesameauth/sesame/oauth"
	"github.com/sesameauth/sesame/oidc"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata (or SESAME_UPDATE_GOLDEN=1)")

// goldenIssuer stands for the issuer in the golden documents.
const goldenIssuer = "https://id.example.com"

// docsEnv is oauth and oidc on one router under goldenIssuer, configured
// as internal/server configures them by default (every key algorithm,
// admin's registration endpoint, client ID metadata documents on), but
// without a listener: the documents need none.
type docsEnv struct {
	router http.Handler
	keys   *keys.Manager
}

func newDocsEnv(t *testing.T, mutate func(*oauth.Config, *oidc.Deps)) *docsEnv {
	t.Helper()
	ctx := context.Background()
	store, ring := testStore(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	km, err := keys.New(ctx, store, ring, keys.Options{Algorithms: keys.Supported(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	oc := oauth.Config{Issuer: goldenIssuer, AccessTokenLifetime: time.Minute,
		RefreshTokenLifetime: time.Hour, IDTokenLifetime: time.Minute, AuthCodeLifetime: time.Minute,
		RotateRefreshTokens: true, IDTokenSigningAlg: keys.RS256, AccessTokenSigningAlg: keys.ES256}
	od := oidc.Deps{Store: store, Keys: km, Issuer: goldenIssuer, Logger: logger,
		Sessions:     session.New(store, goldenIssuer, time.Hour, nil),
		Registration: goldenIssuer + "/oauth2/register", ClientIDMetadataDocuments: true}
	if mutate != nil {
		mutate(&oc, &od)
	}
	oh, err := oauth.New(oauth.Deps{Config: oc, Store: store, Keys: km, Ring: ring, PasswordParams: cheap, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	od.OAuth = oh
	ih, err := oidc.New(od)
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.TestMode)
	g := gin.New()
	oh.Mount(g)
	ih.Mount(g)
	return &docsEnv{router: g, keys: km}
}

func (e *docsEnv) get(t *testing.T, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, goldenIssuer+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	e.router.ServeHTTP(rec, req)
	return rec
}

// checkGolden compares got with testdata/name, rewriting it with -update
// or SESAME_UPDATE_GOLDEN=1.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden || os.Getenv("SESAME_UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s changed (if on purpose, run go test ./oidc -run %s -update):\n got:\n%s\nwant:\n%s", name, t.Name(), got, want)
	}
}

// TestDiscoveryDocument pins the whole discovery document, byte for byte,
// against testdata/discovery.golden: every entry clients read (endpoints,
// grants, methods, algorithms) and its order. Both well-known locations
// serve the same bytes.
func TestDiscoveryDocument(t *testing.T) {
	e := newDocsEnv(t, nil)
	var first []byte
	for _, p := range []string{oidc.PathOIDCDiscovery, oidc.PathASMetadata} {
		rec := e.get(t, p)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" ||
			rec.Header().Get("Cache-Control") != "public, max-age=3600" {
			t.Fatalf("%s: %d %v", p, rec.Code, rec.Header())
		}
		if first == nil {
			first = rec.Body.Bytes()
			continue
		}
		if !bytes.Equal(first, rec.Body.Bytes()) {
			t.Errorf("%s differs from %s", p, oidc.PathOIDCDiscovery)
		}
	}
	var doc map[string]any
	if err := json.Unmarshal(first, &doc); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "discovery.golden", append(first, '\n'))
}

// TestDiscoveryAdvertisesOnlyWhatIsMounted: without a registration
// endpoint there is no registration_endpoint, and the flags follow the
// configuration.
func TestDiscoveryAdvertisesOnlyWhatIsMounted(t *testing.T) {
	e := newDocsEnv(t, func(c *oauth.Config, d *oidc.Deps) {
		c.RequirePushedAuthorizationRequests = true
		d.Registration, d.ClientIDMetadataDocuments = "", false
	})
	var doc map[string]any
	if err := json.Unmarshal(e.get(t, oidc.PathASMetadata).Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if v, ok := doc["registration_endpoint"]; ok {
		t.Errorf("registration_endpoint = %v without a registration endpoint", v)
	}
	if doc["client_id_metadata_document_supported"] != false || doc["require_pushed_authorization_requests"] != true {
		t.Errorf("client_id_metadata_document_supported = %v, require_pushed_authorization_requests = %v",
			doc["client_id_metadata_document_supported"], doc["require_pushed_authorization_requests"])
	}
	if doc["jwks_uri"] != goldenIssuer+oidc.PathJWKS || doc["issuer"] != goldenIssuer {
		t.Errorf("jwks_uri %v issuer %v", doc["jwks_uri"], doc["issuer"])
	}
}

// TestNewRejectsAnotherIssuer: the documents name oauth's endpoints under
// oidc's issuer, so the two must agree.
func TestNewRejectsAnotherIssuer(t *testing.T) {
	ctx := context.Background()
	store, ring := testStore(t)
	km, err := keys.New(ctx, store, ring, keys.Options{Algorithms: []string{keys.ES256}})
	if err != nil {
		t.Fatal(err)
	}
	oh, err := oauth.New(oauth.Deps{Config: oauth.Config{Issuer: goldenIssuer, AccessTokenLifetime: time.Minute,
		RefreshTokenLifetime: time.Hour, IDTokenLifetime: time.Minute, AuthCodeLifetime: time.Minute,
		IDTokenSigningAlg: keys.ES256, AccessTokenSigningAlg: keys.ES256}, Store: store, Keys: km, Ring: ring, PasswordParams: cheap})
	if err != nil {
		t.Fatal(err)
	}
	other := "https://other.example.com"
	_, err = oidc.New(oidc.Deps{OAuth: oh, Store: store, Keys: km, Issuer: other, Sessions: session.New(store, other, time.Hour, nil)})
	if err == nil || !strings.Contains(err.Error(), "issuer") {
		t.Fatalf("oidc.New with another issuer than oauth's: %v", err)
	}
}

// TestJWKSShape pins the JWKS document's shape against a golden file: per
// key, the members it has and the values that do not change between runs
// (kty, alg, use, crv). Clients depend on this shape (a missing alg or use,
// or private material, breaks them or worse); key material and kid change
// every run and are left out.
func TestJWKSShape(t *testing.T) {
	e := newDocsEnv(t, nil)
	rec := e.get(t, oidc.PathJWKS)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("jwks: %d %v", rec.Code, rec.Header())
	}
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
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
	checkGolden(t, "jwks-shape.golden", []byte(strings.Join(lines, "\n")+"\n"))
}

// TestJWKSServing: the key manager's bytes as they are, cacheable for
// five minutes, with its ETag answered by 304 (RFC 9110 §13.1.2).
func TestJWKSServing(t *testing.T) {
	e := newDocsEnv(t, nil)
	body, etag, err := e.keys.JWKS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rec := e.get(t, oidc.PathJWKS)
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), body) || rec.Header().Get("ETag") != etag ||
		etag == "" || rec.Header().Get("Cache-Control") != "public, max-age=300" {
		t.Fatalf("jwks: %d %v", rec.Code, rec.Header())
	}
	for _, c := range []struct {
		name, ifNoneMatch string
		want              int
	}{
		{"the same etag", etag, http.StatusNotModified},
		{"the weak form of the etag", "W/" + etag, http.StatusNotModified},
		{"a list with the etag", `"other", ` + etag, http.StatusNotModified},
		{"any", "*", http.StatusNotModified},
		{"another etag", `"other"`, http.StatusOK},
	} {
		if rec := e.get(t, oidc.PathJWKS, "If-None-Match", c.ifNoneMatch); rec.Code != c.want {
			t.Errorf("If-None-Match with %s: %d, want %d", c.name, rec.Code, c.want)
		}
	}
}

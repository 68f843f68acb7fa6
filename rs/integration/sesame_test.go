package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/keys"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/internal/session"
	"github.com/sesameauth/sesame/oauth"
	"github.com/sesameauth/sesame/oidc"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/sqlite"
)

const audience = "https://api.example.test"

// sesame is a real Sesame OAuth core on SQLite, with oidc for the
// discovery document and the JWKS.
type sesame struct {
	t     testing.TB
	URL   string
	store *sqlite.Store
	ring  *secret.Keyring
	keys  *keys.Manager
	// jwksFetches counts GETs of the JWKS made through httpClient.
	jwksFetches atomic.Int64
	httpClient  *http.Client
}

type countingTransport struct {
	s *sesame
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == oidc.PathJWKS {
		c.s.jwksFetches.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func startSesame(t testing.TB) *sesame {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "sesame.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	ring, err := secret.New(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	km, err := keys.New(ctx, store, ring, keys.Options{Algorithms: []string{keys.RS256, keys.ES256}, Logger: logger})
	if err != nil {
		t.Fatalf("keys.New: %v", err)
	}
	gin.SetMode(gin.TestMode)
	r := gin.New()
	// Routes are mounted before the server serves: a request arriving
	// while gin is still adding routes is a data race (a client of an
	// earlier subtest can reach a reused port at once).
	srv := httptest.NewUnstartedServer(r)
	t.Cleanup(srv.Close)
	issuer := "http://" + srv.Listener.Addr().String()
	h, err := oauth.New(oauth.Deps{
		Config: oauth.Config{
			Issuer:                issuer,
			AccessTokenLifetime:   15 * time.Minute,
			RefreshTokenLifetime:  24 * time.Hour,
			IDTokenLifetime:       time.Hour,
			AuthCodeLifetime:      10 * time.Minute,
			RotateRefreshTokens:   true,
			AccessTokenFormat:     oauth.FormatJWT,
			IDTokenSigningAlg:     keys.RS256,
			AccessTokenSigningAlg: keys.ES256,
		},
		Store: store, Keys: km, Ring: ring, Logger: logger,
	})
	if err != nil {
		t.Fatalf("oauth.New: %v", err)
	}
	docs, err := oidc.New(oidc.Deps{OAuth: h, Store: store, Sessions: session.New(store, issuer, time.Hour, nil),
		Keys: km, Issuer: issuer, Logger: logger})
	if err != nil {
		t.Fatalf("oidc.New: %v", err)
	}
	h.Mount(r)
	docs.Mount(r)
	srv.Start()
	s := &sesame{t: t, URL: srv.URL, store: store, ring: ring, keys: km}
	s.httpClient = &http.Client{Timeout: 10 * time.Second, Transport: countingTransport{s}}
	return s
}

// client registers a confidential client_credentials client and returns its
// secret.
func (s *sesame) client(id, format string, scopes ...string) string {
	s.t.Helper()
	sec, err := secret.RandomToken(24)
	if err != nil {
		s.t.Fatal(err)
	}
	now := time.Now().UTC()
	err = s.store.CreateClient(context.Background(), storage.Client{
		ID:                      id,
		SecretHash:              s.ring.HashClientSecret(sec),
		Name:                    id,
		GrantTypes:              []string{"client_credentials"},
		ResponseTypes:           []string{"code"},
		Scopes:                  scopes,
		Audience:                []string{audience},
		TokenEndpointAuthMethod: "client_secret_basic",
		AccessTokenFormat:       format,
		CreatedAt:               now,
		UpdatedAt:               now,
	})
	if err != nil {
		s.t.Fatalf("CreateClient: %v", err)
	}
	return sec
}

// post sends form to path with Basic credentials and decodes the JSON answer.
func (s *sesame) post(path string, form url.Values, id, sec string) (int, map[string]any) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(sec))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			s.t.Fatalf("%s: decode %q: %v", path, raw, err)
		}
	}
	return resp.StatusCode, body
}

// token gets an access token with client_credentials.
func (s *sesame) token(id, sec, scope string) string {
	s.t.Helper()
	status, body := s.post(oauth.PathToken, url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}, id, sec)
	tok, _ := body["access_token"].(string)
	if status != http.StatusOK || tok == "" {
		s.t.Fatalf("token: %d %v", status, body)
	}
	return tok
}

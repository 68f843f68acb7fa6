package benchtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// The one client and user the fake knows.
const (
	ClientID     = "bench-client"
	ClientSecret = "bench-secret"
	Username     = "alice"
	Password     = "correct horse"
	RedirectURI  = "http://rp.example/callback"
	Subject      = "user-alice"
	keyID        = "k1"
)

// Paths of the fake's endpoints, for Server.Hits.
const (
	PathToken      = "/oauth2/token"
	PathIntrospect = "/oauth2/introspect"
	PathJWKS       = "/.well-known/jwks.json"
	PathUserinfo   = "/userinfo"
	PathHealth     = "/healthz"
	PathAuthorize  = "/oauth2/authorize"
	PathLogin      = "/login"
	PathConsent    = "/consent"
	PathDiscovery  = "/.well-known/openid-configuration"
)

// TokenFailure decides, from the 1-based count of token requests, whether
// the token endpoint fails: a status (0 = answer normally) and an OAuth
// error code ("" = a plain-text body).
type TokenFailure func(n int64) (status int, code string)

// Server is the fake. Its zero configuration answers every flow correctly.
type Server struct {
	*httptest.Server
	Issuer string

	signer jose.Signer
	jwks   []byte

	hits        sync.Map // path → *atomic.Int64
	tokenFail   atomic.Pointer[TokenFailure]
	healthDelay atomic.Int64

	mu       sync.Mutex
	access   map[string]bool
	refresh  map[string]bool
	codes    map[string]codeGrant
	pending  map[string]url.Values // login challenge → authorize request
	sessions map[string]bool       // logged-in session cookies
}

type codeGrant struct {
	challenge, redirect string
}

// New starts the fake and stops it when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("benchtest: key: %v", err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", keyID))
	if err != nil {
		t.Fatalf("benchtest: signer: %v", err)
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: keyID, Algorithm: "ES256", Use: "sig"}}})
	if err != nil {
		t.Fatalf("benchtest: jwks: %v", err)
	}
	s := &Server{
		signer: signer, jwks: jwks,
		access: map[string]bool{}, refresh: map[string]bool{}, codes: map[string]codeGrant{},
		pending: map[string]url.Values{}, sessions: map[string]bool{},
	}
	mux := http.NewServeMux()
	for path, h := range map[string]http.HandlerFunc{
		PathDiscovery:  s.discovery,
		PathToken:      s.token,
		PathIntrospect: s.introspect,
		PathJWKS:       s.serveJWKS,
		PathUserinfo:   s.userinfo,
		PathHealth:     s.health,
		PathAuthorize:  s.authorize,
		PathLogin:      s.login,
		PathConsent:    s.consent,
	} {
		mux.HandleFunc(path, s.count(path, h))
	}
	s.Server = httptest.NewServer(mux)
	s.Issuer = s.URL
	t.Cleanup(s.Close)
	return s
}

// Hits is how many requests path has received.
func (s *Server) Hits(path string) int64 {
	if c, ok := s.hits.Load(path); ok {
		return c.(*atomic.Int64).Load()
	}
	return 0
}

// FailTokens makes the token endpoint fail as f decides; nil restores it.
func (s *Server) FailTokens(f TokenFailure) {
	if f == nil {
		s.tokenFail.Store(nil)
		return
	}
	s.tokenFail.Store(&f)
}

// SlowHealth delays every health answer by d.
func (s *Server) SlowHealth(d time.Duration) { s.healthDelay.Store(int64(d)) }

func (s *Server) count(path string, h http.HandlerFunc) http.HandlerFunc {
	c, _ := s.hits.LoadOrStore(path, new(atomic.Int64))
	return func(w http.ResponseWriter, r *http.Request) {
		n := c.(*atomic.Int64).Add(1)
		h(w, r.WithContext(context.WithValue(r.Context(), hitKey{}, n)))
	}
}

// hitKey carries a request's own 1-based number on its path: reading the
// counter again in the handler would give two concurrent requests the same
// number.
type hitKey struct{}

func (s *Server) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                 s.Issuer,
		"authorization_endpoint": s.Issuer + PathAuthorize,
		"token_endpoint":         s.Issuer + PathToken,
		"introspection_endpoint": s.Issuer + PathIntrospect,
		"userinfo_endpoint":      s.Issuer + PathUserinfo,
		"jwks_uri":               s.Issuer + PathJWKS,
	})
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	n, _ := r.Context().Value(hitKey{}).(int64)
	if f := s.tokenFail.Load(); f != nil {
		if status, code := (*f)(n); status != 0 {
			if code == "" {
				http.Error(w, "boom", status)
				return
			}
			oauthError(w, status, code)
			return
		}
	}
	if r.Method != http.MethodPost || !clientAuthenticated(r) {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	scope := r.PostForm.Get("scope")
	switch r.PostForm.Get("grant_type") {
	case "client_credentials":
		s.issue(w, ClientID, scope, false)
	case "password":
		if r.PostForm.Get("username") != Username || r.PostForm.Get("password") != Password {
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		s.issue(w, Subject, scope, slices.Contains(strings.Fields(scope), "offline_access"))
	case "refresh_token":
		// Rotation: a refresh token works exactly once.
		s.mu.Lock()
		ok := s.refresh[r.PostForm.Get("refresh_token")]
		delete(s.refresh, r.PostForm.Get("refresh_token"))
		s.mu.Unlock()
		if !ok {
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		s.issue(w, Subject, "offline_access", true)
	case "authorization_code":
		s.mu.Lock()
		g, ok := s.codes[r.PostForm.Get("code")]
		delete(s.codes, r.PostForm.Get("code"))
		s.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if !ok || g.redirect != r.PostForm.Get("redirect_uri") ||
			base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		s.issue(w, Subject, "openid", false)
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type")
	}
}

// clientAuthenticated accepts client_secret_basic and client_secret_post
// and parses the form as a side effect.
func clientAuthenticated(r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		return false
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	return id == ClientID && subtle.ConstantTimeCompare([]byte(secret), []byte(ClientSecret)) == 1
}

func (s *Server) issue(w http.ResponseWriter, sub, scope string, withRefresh bool) {
	now := time.Now()
	at, err := jwt.Signed(s.signer).Claims(jwt.Claims{
		Issuer: s.Issuer, Subject: sub, Audience: jwt.Audience{ClientID},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(15 * time.Minute)),
		ID: random(),
	}).Claims(map[string]any{"client_id": ClientID, "scope": scope}).Serialize()
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error")
		return
	}
	resp := map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": 900}
	s.mu.Lock()
	s.access[at] = true
	if withRefresh {
		rt := random()
		s.refresh[rt] = true
		resp["refresh_token"] = rt
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) introspect(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !clientAuthenticated(r) {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	s.mu.Lock()
	active := s.access[r.PostForm.Get("token")]
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"active": active})
}

func (s *Server) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(s.jwks)
}

func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	ok = ok && s.access[token]
	s.mu.Unlock()
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sub": Subject})
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	if d := time.Duration(s.healthDelay.Load()); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	_, _ = w.Write([]byte("ok"))
}

func oauthError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]string{"error": code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func random() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

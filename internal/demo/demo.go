// Package demo is the demo relying party of a fresh install (/demo): a
// public client that signs in with Sesame exactly as a third-party app
// would, over HTTP (authorization code + PKCE S256, state, nonce), then
// verifies the ID token against the issuer's JWKS and calls userinfo. It
// knows the server only by its issuer URL, so it is kept apart from the
// server's own pages (web).
package demo

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gin-gonic/gin"
	"golang.org/x/oauth2"

	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/web/ui"
)

// Handler is the demo relying party.
type Handler struct {
	issuer   string
	clientID string
	client   *http.Client
	log      *slog.Logger
	secure   bool

	mu       sync.Mutex
	provider *oidc.Provider // discovered lazily: the server may not listen yet at New
}

// demoCookieTTL bounds how long a sign-in started on /demo may take.
const demoCookieTTL = 10 * time.Minute

// Deps are what the demo needs: where the issuer is and which (public)
// client it signs in as.
type Deps struct {
	// Issuer is the server's issuer URL; the demo reaches it over HTTP.
	Issuer string
	// ClientID is the public client with redirect URI <issuer>/demo/callback.
	ClientID string
	// HTTPClient reaches the issuer (nil → a client with a 10 s timeout).
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// New checks the dependencies and builds the demo.
func New(d Deps) (*Handler, error) {
	if d.ClientID == "" {
		return nil, errors.New("demo: ClientID is required")
	}
	iss, err := url.Parse(d.Issuer)
	if err != nil || iss.Scheme == "" || iss.Host == "" {
		return nil, errors.New("demo: Issuer must be an absolute URL")
	}
	if d.HTTPClient == nil {
		d.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	issuer := strings.TrimSuffix(d.Issuer, "/")
	return &Handler{issuer: issuer, clientID: d.ClientID, client: d.HTTPClient, log: d.Logger,
		secure: strings.HasPrefix(issuer, "https://")}, nil
}

// Mount registers /demo, /demo/login and /demo/callback.
func (d *Handler) Mount(r gin.IRouter) {
	r.GET("/demo", gin.WrapF(d.page))
	r.GET("/demo/login", gin.WrapF(d.login))
	r.GET("/demo/callback", gin.WrapF(d.callback))
}

func (d *Handler) cookieName() string {
	if d.secure {
		return "__Host-sesame_demo"
	}
	return "sesame_demo"
}

func (d *Handler) ctx(ctx context.Context) context.Context {
	ctx = oidc.ClientContext(ctx, d.client)
	return context.WithValue(ctx, oauth2.HTTPClient, d.client)
}

func (d *Handler) discover(ctx context.Context) (*oidc.Provider, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.provider != nil {
		return d.provider, nil
	}
	// The provider keeps this context for fetching keys later, so it must
	// not be the request's.
	p, err := oidc.NewProvider(d.ctx(context.WithoutCancel(ctx)), d.issuer)
	if err != nil {
		return nil, fmt.Errorf("demo: discovery: %w", err)
	}
	d.provider = p
	return p, nil
}

func (d *Handler) config(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID:    d.clientID,
		Endpoint:    p.Endpoint(),
		RedirectURL: d.issuer + "/demo/callback",
		Scopes:      []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess},
	}
}

type demoPage struct{ Error string }

func (d *Handler) page(w http.ResponseWriter, _ *http.Request) {
	ui.Render(w, http.StatusOK, "demo", "Demo app", demoPage{})
}

// demoState is what the demo keeps between /demo/login and the callback,
// in an HttpOnly cookie (the app has no server-side session).
type demoState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
}

func (d *Handler) login(w http.ResponseWriter, r *http.Request) {
	p, err := d.discover(r.Context())
	if err != nil {
		d.fail(w, r, err)
		return
	}
	st := demoState{Verifier: oauth2.GenerateVerifier()}
	if st.State, err = secret.RandomToken(16); err == nil {
		st.Nonce, err = secret.RandomToken(16)
	}
	if err != nil {
		d.fail(w, r, err)
		return
	}
	raw, _ := json.Marshal(st)
	http.SetCookie(w, &http.Cookie{Name: d.cookieName(), Value: base64.RawURLEncoding.EncodeToString(raw), Path: "/",
		MaxAge: int(demoCookieTTL.Seconds()), HttpOnly: true, Secure: d.secure, SameSite: http.SameSiteLaxMode})
	u := d.config(p).AuthCodeURL(st.State, oauth2.S256ChallengeOption(st.Verifier), oidc.Nonce(st.Nonce))
	http.Redirect(w, r, u, http.StatusSeeOther)
}

type demoResult struct {
	Subject         string
	TokenEndpoint   string
	IDTokenClaims   string
	UserInfo        string
	AccessTokenKind string
	Expiry          string
	HasRefresh      bool
}

func (d *Handler) callback(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(d.cookieName())
	var st demoState
	if err == nil {
		var raw []byte
		if raw, err = base64.RawURLEncoding.DecodeString(c.Value); err == nil {
			err = json.Unmarshal(raw, &st)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: d.cookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: d.secure, SameSite: http.SameSiteLaxMode})
	q := r.URL.Query()
	if err != nil || st.State == "" || subtle.ConstantTimeCompare([]byte(st.State), []byte(q.Get("state"))) != 1 {
		d.show(w, http.StatusBadRequest, "The sign-in could not be matched to this browser (missing or wrong state). Start again.")
		return
	}
	if e := q.Get("error"); e != "" {
		d.show(w, http.StatusOK, "Sesame answered "+e+": "+q.Get("error_description"))
		return
	}
	if q.Get("iss") != "" && q.Get("iss") != d.issuer {
		// RFC 9207: a response from another issuer is a mix-up attack.
		d.show(w, http.StatusBadRequest, "The response came from an unexpected issuer.")
		return
	}
	ctx := d.ctx(r.Context())
	p, err := d.discover(r.Context())
	if err != nil {
		d.fail(w, r, err)
		return
	}
	cfg := d.config(p)
	tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		d.fail(w, r, fmt.Errorf("demo: exchange: %w", err))
		return
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := p.VerifierContext(d.ctx(context.WithoutCancel(r.Context())), &oidc.Config{ClientID: d.clientID}).Verify(ctx, rawID)
	if err != nil {
		d.fail(w, r, fmt.Errorf("demo: verify id token: %w", err))
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		d.show(w, http.StatusBadRequest, "The ID token's nonce does not match this sign-in.")
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		d.fail(w, r, err)
		return
	}
	info, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		d.fail(w, r, fmt.Errorf("demo: userinfo: %w", err))
		return
	}
	var uiClaims map[string]any
	if err := info.Claims(&uiClaims); err != nil {
		d.fail(w, r, err)
		return
	}
	kind := "opaque"
	if strings.Count(tok.AccessToken, ".") == 2 {
		kind = "a JWT"
	}
	// Greet by name as a real app would; fall back to the stable subject.
	greet := idt.Subject
	for _, k := range []string{"name", "preferred_username"} {
		if v, ok := claims[k].(string); ok && v != "" {
			greet = v
			break
		}
	}
	d.result(w, demoResult{
		Subject:         greet,
		TokenEndpoint:   cfg.Endpoint.TokenURL,
		IDTokenClaims:   pretty(claims),
		UserInfo:        pretty(uiClaims),
		AccessTokenKind: kind,
		Expiry:          tok.Expiry.UTC().Format(time.RFC3339),
		HasRefresh:      tok.RefreshToken != "",
	})
}

func (d *Handler) result(w http.ResponseWriter, res demoResult) {
	ui.Render(w, http.StatusOK, "demoresult", "Demo app", res)
}

func (d *Handler) show(w http.ResponseWriter, status int, msg string) {
	ui.Render(w, status, "demo", "Demo app", demoPage{Error: msg})
}

func (d *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	d.log.ErrorContext(r.Context(), "demo app", "err", err)
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		d.show(w, http.StatusBadGateway, "The token endpoint refused the code: "+re.ErrorCode)
		return
	}
	d.show(w, http.StatusBadGateway, "The demo app could not complete the sign-in; see the server log.")
}

func pretty(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

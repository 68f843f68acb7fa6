// Command webapp is the smallest web application protected by Sesame: a
// confidential client that signs people in with the authorization code
// flow (PKCE S256, state and nonce), verifies the ID token against the
// issuer's keys, and refreshes its access token. The README's "Protect
// your own web app" step runs it.
//
//	go run ./examples/webapp --client-id ID --client-secret SECRET
//
// It keeps sign-ins in memory and serves plain HTTP on 127.0.0.1: a
// teaching aid, not a template for production session handling.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "webapp:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("webapp", flag.ContinueOnError)
	issuer := fs.String("issuer", "http://localhost:8080", "Sesame issuer URL")
	listen := fs.String("listen", "127.0.0.1:9000", "listen address; the redirect URI is http://<listen>/callback")
	clientID := fs.String("client-id", os.Getenv("WEBAPP_CLIENT_ID"), "client id (env WEBAPP_CLIENT_ID)")
	clientSecret := fs.String("client-secret", os.Getenv("WEBAPP_CLIENT_SECRET"), "client secret (env WEBAPP_CLIENT_SECRET)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *clientID == "" || *clientSecret == "" {
		return errors.New("--client-id and --client-secret are required (from `sesame clients create`)")
	}
	provider, err := oidc.NewProvider(ctx, *issuer) // discovery
	if err != nil {
		return err
	}
	a := &app{
		verifier: provider.Verifier(&oidc.Config{ClientID: *clientID}),
		conf: oauth2.Config{
			ClientID: *clientID, ClientSecret: *clientSecret,
			Endpoint:    provider.Endpoint(),
			RedirectURL: "http://" + *listen + "/callback",
			Scopes:      []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess},
		},
		pending:  map[string]pending{},
		sessions: map[string]*signedIn{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /login", a.login)
	mux.HandleFunc("GET /callback", a.callback)
	mux.HandleFunc("POST /refresh", a.refresh)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	log.Printf("webapp: open http://%s/ (issuer %s)", *listen, *issuer)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}

// pending is a sign-in in flight: what the callback must see again.
type pending struct {
	state, nonce, verifier string
	expires                time.Time
}

type signedIn struct {
	claims map[string]any
	token  *oauth2.Token
}

type app struct {
	conf     oauth2.Config
	verifier *oidc.IDTokenVerifier

	mu       sync.Mutex
	pending  map[string]pending   // by browser cookie
	sessions map[string]*signedIn // by browser cookie
}

func random() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// login starts the flow: a fresh state (against CSRF), nonce (binds the ID
// token to this sign-in) and PKCE verifier (binds the code to this client
// instance), remembered under a cookie.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	p := pending{state: random(), nonce: random(), verifier: oauth2.GenerateVerifier(), expires: time.Now().Add(10 * time.Minute)}
	id := random()
	a.mu.Lock()
	a.pending[id] = p
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "webapp_flow", Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 600})
	http.Redirect(w, r, a.conf.AuthCodeURL(p.state, oidc.Nonce(p.nonce), oauth2.S256ChallengeOption(p.verifier)), http.StatusFound)
}

// callback checks state, redeems the code with the PKCE verifier and the
// client secret, and verifies the ID token (signature, iss, aud, exp, nonce).
func (a *app) callback(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie("webapp_flow")
	if err != nil {
		http.Error(w, "no sign-in in progress: start at /login", http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	p, ok := a.pending[c.Value]
	delete(a.pending, c.Value)
	a.mu.Unlock()
	if !ok || time.Now().After(p.expires) || r.URL.Query().Get("state") != p.state {
		http.Error(w, "state does not match this sign-in: start again at /login", http.StatusBadRequest)
		return
	}
	if e := r.URL.Query().Get("error"); e != "" {
		http.Error(w, "sign-in refused: "+e+": "+r.URL.Query().Get("error_description"), http.StatusForbidden)
		return
	}
	tok, err := a.conf.Exchange(r.Context(), r.URL.Query().Get("code"), oauth2.VerifierOption(p.verifier))
	if err != nil {
		http.Error(w, "code exchange: "+err.Error(), http.StatusBadGateway)
		return
	}
	claims, err := a.verifyIDToken(r.Context(), tok, p.nonce)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	a.mu.Lock()
	a.sessions[c.Value] = &signedIn{claims: claims, token: tok}
	a.mu.Unlock()
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *app) verifyIDToken(ctx context.Context, tok *oauth2.Token, nonce string) (map[string]any, error) {
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		return nil, errors.New("token response has no id_token")
	}
	idt, err := a.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("ID token: %w", err)
	}
	if idt.Nonce != nonce {
		return nil, errors.New("ID token nonce does not match this sign-in")
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return nil, err
	}
	return claims, nil
}

// refresh trades the refresh token for new tokens (Sesame rotates it).
func (a *app) refresh(w http.ResponseWriter, r *http.Request) {
	s := a.session(r)
	if s == nil {
		http.Redirect(w, r, "/login", http.StatusFound)
		return
	}
	expired := *s.token
	expired.Expiry = time.Now().Add(-time.Second) // force the refresh now
	tok, err := a.conf.TokenSource(r.Context(), &expired).Token()
	if err != nil {
		http.Error(w, "refresh: "+err.Error(), http.StatusBadGateway)
		return
	}
	a.mu.Lock()
	s.token = tok
	a.mu.Unlock()
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *app) session(r *http.Request) *signedIn {
	c, err := r.Cookie("webapp_flow")
	if err != nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sessions[c.Value]
}

var page = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en"><meta charset="utf-8"><title>webapp</title>
{{if .}}<h1>Signed in as {{index .Claims "preferred_username"}}</h1>
<p>ID token claims (verified):</p><pre>{{.ClaimsJSON}}</pre>
<p>Access token expires {{.Expiry}}.</p>
<form method="post" action="/refresh"><button>Refresh the tokens</button></form>
{{else}}<h1>Not signed in</h1><p><a href="/login">Sign in with Sesame</a></p>{{end}}
</html>`))

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	s := a.session(r)
	if s == nil {
		_ = page.Execute(w, nil)
		return
	}
	a.mu.Lock()
	claims, expiry := s.claims, s.token.Expiry.UTC().Format(time.RFC3339)
	a.mu.Unlock()
	js, _ := json.MarshalIndent(claims, "", "  ")
	_ = page.Execute(w, map[string]any{"Claims": claims, "ClaimsJSON": string(js), "Expiry": expiry})
}

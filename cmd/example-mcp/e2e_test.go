package main

// The MCP authorization flow end to end, over real HTTP on loopback: a
// real Sesame (internal/server, SQLite, and Postgres when
// SESAME_TEST_DATABASE_URL is set), this server in-process, and the
// go-sdk's own client doing discovery (RFC 9728, RFC 8414), registration
// (client ID metadata document, or dynamic registration when Sesame has
// documents switched off), authorization code + PKCE with resource
// (RFC 8707) and tool calls. The test plays the user's browser only: it
// logs in and consents on Sesame's pages.

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"golang.org/x/oauth2"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/config"
	"github.com/sesameauth/sesame/internal/server"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
)

const (
	otherAPI = "https://other.example.com"
	// redirectURI is the MCP client's loopback callback. Nothing listens
	// there: the test's browser stops at the redirect and reads the code.
	redirectURI = "http://127.0.0.1:45931/callback"
	userName    = "ada"
	userPass    = "ada-password-1234"
)

// stack is one Sesame and one example-mcp in front of it.
type stack struct {
	issuer, resource string
	sesame           *server.Server
	cimdURL          string // the client ID metadata document, "" without
}

// startStack boots Sesame on dbURL (documents on or off) and example-mcp
// against it, and registers the MCP server as a resource, a user and a
// second API.
func startStack(t *testing.T, dbURL string, documents bool) *stack {
	t.Helper()
	ctx := context.Background()
	st := &stack{}

	// The client ID metadata document, on https (the SDK and Sesame take
	// nothing else) from loopback, which Sesame reaches only with the
	// test options below.
	docSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/client.json" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"client_id": st.cimdURL, "client_name": "Notes agent", "redirect_uris": []string{redirectURI},
			"grant_types": []string{"authorization_code"}, "response_types": []string{"code"},
			"token_endpoint_auth_method": "none",
		})
	}))
	docSrv.StartTLS()
	t.Cleanup(docSrv.Close)
	st.cimdURL = docSrv.URL + "/client.json"
	roots := x509.NewCertPool()
	roots.AddCert(docSrv.Certificate())

	// Both listeners first: Sesame's registration audience is the MCP
	// server's URL, and the MCP server needs Sesame's issuer.
	sesameLn := listen(t)
	mcpLn := listen(t)
	st.issuer = "http://" + sesameLn.Addr().String()
	st.resource = "http://" + mcpLn.Addr().String() + mcpPath

	cfg := config.Default()
	cfg.Issuer, cfg.Listen, cfg.DatabaseURL = st.issuer, sesameLn.Addr().String(), dbURL
	cfg.Secret = "example-mcp-e2e-system-secret-0123456789abcdef"
	cfg.Demo = false
	cfg.Argon2MemoryKiB, cfg.Argon2Iterations = 7168, 5 // the cheapest config accepts
	cfg.RateLimitEnabled = false
	cfg.ShutdownDelay, cfg.ShutdownTimeout = 0, 5*time.Second
	cfg.KeyRotationInterval = 0
	cfg.IDTokenSigningAlg = "ES256" // RSA key generation is slow under -race
	cfg.ClientIDMetadataDocuments = documents
	// Dynamic registration (RFC 7591) without an initial access token,
	// and such clients may ask for this MCP server as resource.
	cfg.OpenRegistration = true
	cfg.RegistrationAudiences = st.resource
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := server.New(ctx, cfg, logger, server.WithOutput(io.Discard),
		server.WithCIMDLoopbackForTests(), server.WithCIMDRootCAsForTests(roots))
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	st.sesame = s
	runUntilCleanup(t, "sesame", func(ctx context.Context) error { return s.Serve(ctx, sesameLn) })

	if _, err := s.App.CreateUser(ctx, "test", app.NewUser{Username: userName, Password: userPass, Email: "ada@example.com"}); err != nil {
		t.Fatal(err)
	}
	// What an operator does with `sesame resources create`.
	for uri, name := range map[string]string{st.resource: "Notes", otherAPI: "Other"} {
		if _, err := s.App.CreateResource(ctx, "test", app.ResourceInput{URI: &uri, Name: &name,
			Scopes:       []string{scopeRead, scopeWrite},
			Descriptions: map[string]string{scopeRead: "Read your notes", scopeWrite: "Add notes"}}); err != nil {
			t.Fatal(err)
		}
	}

	o := options{issuer: st.issuer}
	runUntilCleanup(t, "example-mcp", func(ctx context.Context) error { return serve(ctx, o, mcpLn, logger) })
	return st
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// testTransport carries every request the test's clients make, so that
// their idle connections can be closed before the servers stop: a
// connection a transport dialled and then did not use counts as active
// for 5 s, and http.Server.Shutdown would wait for it. (Its own dialer
// also makes the SDK skip its public-address checks, pointless on
// loopback.)
var testTransport = &http.Transport{DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext, MaxIdleConnsPerHost: 4}

func testClient() *http.Client {
	return &http.Client{Transport: testTransport, Timeout: 30 * time.Second}
}

// runUntilCleanup runs fn until the test ends and fails the test if fn
// fails.
func runUntilCleanup(t *testing.T, name string, fn func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	t.Cleanup(func() {
		testTransport.CloseIdleConnections()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: %v", name, err)
		}
	})
}

// ---- the user's browser ------------------------------------------------

var (
	csrfRE   = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

// browser logs the user in and consents. Its fetch is the SDK's
// AuthorizationCodeFetcher: what a desktop MCP client does by opening
// the authorization URL in a browser and listening on redirectURI.
type browser struct {
	issuer string
	c      *http.Client

	mu           sync.Mutex
	authURLs     []*url.URL // every authorization request, in order
	consentPages []string
}

func newBrowser(issuer string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{issuer: issuer, c: &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: testTransport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) fetch(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
	u, err := url.Parse(args.URL)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.authURLs = append(b.authURLs, u)
	b.mu.Unlock()
	res, body, err := b.do(ctx, http.MethodGet, args.URL, nil)
	for range 10 {
		if err != nil {
			return nil, err
		}
		switch {
		case res.StatusCode == http.StatusFound || res.StatusCode == http.StatusSeeOther:
			loc, lerr := res.Location()
			if lerr != nil {
				return nil, lerr
			}
			if strings.HasPrefix(loc.String(), redirectURI) {
				q := loc.Query()
				if e := q.Get("error"); e != "" {
					return nil, fmt.Errorf("authorization refused: %s %s", e, q.Get("error_description"))
				}
				return &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
			}
			res, body, err = b.do(ctx, http.MethodGet, loc.String(), nil)
		case res.StatusCode == http.StatusOK && bytes.Contains(body, []byte(`name="password"`)):
			res, body, err = b.submit(ctx, body, url.Values{"username": {userName}, "password": {userPass}})
		case res.StatusCode == http.StatusOK && bytes.Contains(body, []byte(`name="decision"`)):
			b.mu.Lock()
			b.consentPages = append(b.consentPages, string(body))
			b.mu.Unlock()
			res, body, err = b.submit(ctx, body, url.Values{"decision": {"allow"}})
		default:
			return nil, fmt.Errorf("unexpected %d from %s: %.300s", res.StatusCode, res.Request.URL, body)
		}
	}
	return nil, errors.New("too many steps in the authorization")
}

// submit posts the page's form with its CSRF token.
func (b *browser) submit(ctx context.Context, page []byte, form url.Values) (*http.Response, []byte, error) {
	a, c := actionRE.FindSubmatch(page), csrfRE.FindSubmatch(page)
	if a == nil || c == nil {
		return nil, nil, fmt.Errorf("no form with csrf_token in %.300s", page)
	}
	form.Set("csrf_token", string(c[1]))
	action := strings.ReplaceAll(string(a[1]), "&amp;", "&")
	if strings.HasPrefix(action, "/") {
		action = b.issuer + action
	}
	return b.do(ctx, http.MethodPost, action, form)
}

func (b *browser) do(ctx context.Context, method, u string, form url.Values) (*http.Response, []byte, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	b2, err := io.ReadAll(res.Body)
	return res, b2, err
}

func (b *browser) authorizations() []*url.URL {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.authURLs)
}

func (b *browser) consents() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.consentPages)
}

// ---- MCP client helpers -------------------------------------------------

// connect opens an MCP session with the SDK's streamable client.
func connect(t *testing.T, endpoint string, tr *mcp.StreamableClientTransport) (*mcp.ClientSession, error) {
	t.Helper()
	tr.Endpoint = endpoint
	if tr.HTTPClient == nil {
		tr.HTTPClient = testClient()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := mcp.NewClient(&mcp.Implementation{Name: "e2e-agent", Version: "1.0.0"}, nil)
	cs, err := c.Connect(ctx, tr, nil)
	if err == nil {
		t.Cleanup(func() { _ = cs.Close() })
	}
	return cs, err
}

// call calls a tool and returns its structured result as JSON.
func call(t *testing.T, cs *mcp.ClientSession, tool string, args map[string]any) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return "", err
	}
	if res.IsError {
		var msg []string
		for _, c := range res.Content {
			if tc, ok := c.(*mcp.TextContent); ok {
				msg = append(msg, tc.Text)
			}
		}
		return "", fmt.Errorf("tool error: %s", strings.Join(msg, "; "))
	}
	out, err := json.Marshal(res.StructuredContent)
	return string(out), err
}

// bearerClient sends a fixed token, as a client that got it elsewhere.
func bearerClient(token string) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &oauth2.Transport{Base: testTransport,
		Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token, TokenType: "Bearer"})}}
}

// post sends one JSON-RPC message to the MCP endpoint as raw HTTP.
func post(t *testing.T, endpoint, token, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := testClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func getJSON(t *testing.T, u string, into any) {
	t.Helper()
	res, err := testClient().Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || json.Unmarshal(b, into) != nil {
		t.Fatalf("GET %s: %d %s", u, res.StatusCode, b)
	}
}

// claims reads a JWT's payload (the MCP server has verified it).
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	if err != nil || json.Unmarshal(raw, &c) != nil {
		t.Fatalf("JWT payload %q: %v", parts[1], err)
	}
	return c
}

// sameScopes compares a scope string with a set (the SDK's union of the
// granted and the challenged scopes has no set order).
func sameScopes(scope string, want []string) bool {
	got := strings.Fields(scope)
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	return slices.Equal(got, want)
}

func token(t *testing.T, h *auth.AuthorizationCodeHandler) string {
	t.Helper()
	ts, err := h.TokenSource(context.Background())
	if err != nil || ts == nil {
		t.Fatalf("no token source: %v", err)
	}
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`

// ---- the test -----------------------------------------------------------

func TestMCPAuthorizationEndToEnd(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dbURL := func(t *testing.T) string {
				if backend == "postgres" {
					return pgtest.URL(t) // skipped without SESAME_TEST_DATABASE_URL
				}
				return "sqlite:" + filepath.Join(t.TempDir(), "sesame.db")
			}
			t.Run("client ID metadata document", func(t *testing.T) { testDocumentClient(t, startStack(t, dbURL(t), true)) })
			t.Run("dynamic registration when Sesame takes no documents", func(t *testing.T) { testRegisteredClient(t, startStack(t, dbURL(t), false)) })
		})
	}
}

// sdkClient is the SDK's OAuth handler configured as an agent that has a
// client ID metadata document and can also register itself; the SDK uses
// the document when the authorization server says it takes them.
func sdkClient(t *testing.T, st *stack, b *browser, scopeFilter func([]string) []string) *auth.AuthorizationCodeHandler {
	t.Helper()
	h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		ClientIDMetadataDocumentConfig: &auth.ClientIDMetadataDocumentConfig{URL: st.cimdURL},
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			ClientName: "Notes agent", RedirectURIs: []string{redirectURI}, GrantTypes: []string{"authorization_code"},
			ResponseTypes: []string{"code"}, TokenEndpointAuthMethod: "none", Scope: scopeRead + " " + scopeWrite,
		}},
		RedirectURL:              redirectURI,
		AuthorizationCodeFetcher: b.fetch,
		ScopeFilter:              scopeFilter,
		Client:                   testClient(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func testDocumentClient(t *testing.T, st *stack) {
	metadataURL := strings.Replace(st.resource, mcpPath, "/.well-known/oauth-protected-resource"+mcpPath, 1)

	t.Run("no token: 401 pointing at the protected resource metadata", func(t *testing.T) {
		res, body := post(t, st.resource, "", initialize)
		chal := res.Header.Get("WWW-Authenticate")
		if res.StatusCode != http.StatusUnauthorized || !strings.Contains(chal, `resource_metadata="`+metadataURL+`"`) {
			t.Fatalf("%d %q %s, want 401 with resource_metadata=%q", res.StatusCode, chal, body, metadataURL)
		}
	})

	t.Run("RFC 9728 document names Sesame and the scopes", func(t *testing.T) {
		var doc struct {
			Resource             string   `json:"resource"`
			AuthorizationServers []string `json:"authorization_servers"`
			Scopes               []string `json:"scopes_supported"`
		}
		getJSON(t, metadataURL, &doc)
		if doc.Resource != st.resource || !slices.Equal(doc.AuthorizationServers, []string{st.issuer}) || !slices.Equal(doc.Scopes, allScopes()) {
			t.Fatalf("metadata %+v", doc)
		}
	})

	t.Run("Sesame's RFC 8414 metadata: PKCE, documents, registration", func(t *testing.T) {
		var asm map[string]any
		getJSON(t, st.issuer+"/.well-known/oauth-authorization-server", &asm)
		if asm["issuer"] != st.issuer || asm["client_id_metadata_document_supported"] != true || asm["registration_endpoint"] == nil ||
			!slices.Contains(asm["code_challenge_methods_supported"].([]any), any("S256")) {
			t.Fatalf("authorization server metadata %v", asm)
		}
	})

	b := newBrowser(st.issuer)
	// The agent first asks for less than the server offers (read only,
	// instead of all of scopes_supported), so that the write tool makes
	// it step up; a scope a 403 challenge names is asked for as is.
	h := sdkClient(t, st, b, func(discovered []string) []string {
		if slices.Equal(discovered, allScopes()) {
			return []string{scopeRead}
		}
		return discovered
	})
	cs, err := connect(t, st.resource, &mcp.StreamableClientTransport{OAuthHandler: h})
	if err != nil {
		t.Fatalf("connect with the SDK's OAuth handler: %v", err)
	}
	readToken := token(t, h)

	t.Run("SDK client: discovery, document client, code + PKCE with resource, tools", func(t *testing.T) {
		auths := b.authorizations()
		if len(auths) != 1 {
			t.Fatalf("%d authorization requests, want 1", len(auths))
		}
		q := auths[0].Query()
		if q.Get("client_id") != st.cimdURL || q.Get("resource") != st.resource || q.Get("code_challenge_method") != "S256" ||
			q.Get("code_challenge") == "" || q.Get("scope") != scopeRead {
			t.Fatalf("authorization request %s", auths[0])
		}
		docHost := strings.TrimPrefix(strings.TrimSuffix(st.cimdURL, "/client.json"), "https://")
		if pages := b.consents(); len(pages) != 1 || !strings.Contains(pages[0], docHost) {
			t.Fatalf("%d consent pages, want one showing the document's host %s", len(pages), docHost)
		}
		c := claims(t, readToken)
		if aud, _ := json.Marshal(c["aud"]); string(aud) != `"`+st.resource+`"` && string(aud) != `["`+st.resource+`"]` {
			t.Fatalf("token aud %s, want %s", aud, st.resource)
		}
		if c["client_id"] != st.cimdURL || c["scope"] != scopeRead {
			t.Fatalf("token claims %v", c)
		}
		tools, err := cs.ListTools(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tool := range tools.Tools {
			names = append(names, tool.Name)
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{"add_note", "list_notes"}) {
			t.Fatalf("tools %v", names)
		}
		if out, err := call(t, cs, "list_notes", nil); err != nil || out != `{"notes":[]}` {
			t.Fatalf("list_notes = %s, %v", out, err)
		}
	})

	t.Run("a token without the tool's scope: 403 insufficient_scope at HTTP", func(t *testing.T) {
		res, body := post(t, st.resource, readToken,
			`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add_note","arguments":{"text":"x"}}}`)
		chal := res.Header.Get("WWW-Authenticate")
		for _, want := range []string{`error="insufficient_scope"`, `scope="notes:write"`, `resource_metadata="` + metadataURL + `"`} {
			if res.StatusCode != http.StatusForbidden || !strings.Contains(chal, want) {
				t.Fatalf("%d %q %s, want 403 with %s", res.StatusCode, chal, body, want)
			}
		}
		// The SDK's client with that token alone (no OAuth handler to
		// step up with) may read, and gets the write refused.
		plain, err := connect(t, st.resource, &mcp.StreamableClientTransport{HTTPClient: bearerClient(readToken)})
		if err != nil {
			t.Fatal(err)
		}
		if out, err := call(t, plain, "list_notes", nil); err != nil || out != `{"notes":[]}` {
			t.Fatalf("list_notes with a read token = %s, %v", out, err)
		}
		// (The SDK then closes the session: a refused call is fatal to it.)
		if out, err := call(t, plain, "add_note", map[string]any{"text": "x"}); err == nil || !strings.Contains(err.Error(), "Forbidden") {
			t.Fatalf("add_note with a read token = %s, %v; want Forbidden (403)", out, err)
		}
	})

	t.Run("SDK client steps up on 403: asks for notes:write too, retries, succeeds", func(t *testing.T) {
		out, err := call(t, cs, "add_note", map[string]any{"text": "buy milk"})
		if err != nil || out != `{"count":1}` {
			t.Fatalf("add_note = %s, %v", out, err)
		}
		auths := b.authorizations()
		if len(auths) != 2 || !sameScopes(auths[1].Query().Get("scope"), allScopes()) {
			t.Fatalf("authorization requests %v, want a second one for both scopes", auths)
		}
		if sc, _ := claims(t, token(t, h))["scope"].(string); !sameScopes(sc, allScopes()) {
			t.Fatalf("stepped-up token scope %q", sc)
		}
		if out, err := call(t, cs, "list_notes", nil); err != nil || out != `{"notes":["buy milk"]}` {
			t.Fatalf("list_notes = %s, %v", out, err)
		}
	})

	t.Run("a token for another resource: 401", func(t *testing.T) {
		svc, sec, err := st.sesame.App.CreateClient(context.Background(), "test", app.ClientSpec{Name: "other-svc",
			GrantTypes: []string{"client_credentials"}, Scopes: []string{scopeRead, scopeWrite}, Audience: []string{otherAPI, st.resource}})
		if err != nil {
			t.Fatal(err)
		}
		cc := func(resource string) string {
			req, _ := http.NewRequest(http.MethodPost, st.issuer+"/oauth2/token", strings.NewReader(url.Values{
				"grant_type": {"client_credentials"}, "scope": {scopeRead}, "resource": {resource}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(url.QueryEscape(svc.ID), url.QueryEscape(sec))
			res, err := testClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var tr struct {
				AccessToken string `json:"access_token"`
			}
			if err := json.NewDecoder(res.Body).Decode(&tr); err != nil || tr.AccessToken == "" {
				t.Fatalf("client_credentials for %s: %d %v", resource, res.StatusCode, err)
			}
			return tr.AccessToken
		}
		other := cc(otherAPI)
		res, body := post(t, st.resource, other, initialize)
		if chal := res.Header.Get("WWW-Authenticate"); res.StatusCode != http.StatusUnauthorized || !strings.Contains(chal, `error="invalid_token"`) {
			t.Fatalf("token for %s: %d %q %s, want 401 invalid_token", otherAPI, res.StatusCode, chal, body)
		}
		if _, err := connect(t, st.resource, &mcp.StreamableClientTransport{HTTPClient: bearerClient(other)}); err == nil {
			t.Fatal("the SDK client connected with a token for another resource")
		}
		// The same client's token for this server works: only aud differs.
		if res, body := post(t, st.resource, cc(st.resource), initialize); res.StatusCode != http.StatusOK {
			t.Fatalf("token for this server: %d %s", res.StatusCode, body)
		}
	})
}

func testRegisteredClient(t *testing.T, st *stack) {
	var asm map[string]any
	getJSON(t, st.issuer+"/.well-known/oauth-authorization-server", &asm)
	if asm["client_id_metadata_document_supported"] == true {
		t.Fatal("documents are off, yet discovery says they are supported")
	}
	b := newBrowser(st.issuer)
	h := sdkClient(t, st, b, nil)
	cs, err := connect(t, st.resource, &mcp.StreamableClientTransport{OAuthHandler: h})
	if err != nil {
		t.Fatalf("connect with the SDK's OAuth handler: %v", err)
	}
	auths := b.authorizations()
	if len(auths) != 1 {
		t.Fatalf("%d authorization requests, want 1", len(auths))
	}
	id := auths[0].Query().Get("client_id")
	if id == "" || id == st.cimdURL || auths[0].Query().Get("resource") != st.resource {
		t.Fatalf("authorization request %s, want a registered client_id and resource", auths[0])
	}
	// The SDK registered it (RFC 7591) and Sesame gave it this server
	// as audience (SESAME_REGISTRATION_AUDIENCES).
	c, err := st.sesame.App.GetClient(context.Background(), id)
	if err != nil || !slices.Equal(c.Audience, []string{st.resource}) {
		t.Fatalf("registered client %+v, %v", c, err)
	}
	if got := claims(t, token(t, h))["client_id"]; got != id {
		t.Fatalf("token client_id %v, want %s", got, id)
	}
	if out, err := call(t, cs, "add_note", map[string]any{"text": "from a registered client"}); err != nil || out != `{"count":1}` {
		t.Fatalf("add_note = %s, %v", out, err)
	}
	if out, err := call(t, cs, "list_notes", nil); err != nil || out != `{"notes":["from a registered client"]}` {
		t.Fatalf("list_notes = %s, %v", out, err)
	}
}

package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
)

// maxHops bounds the redirects and form posts of one authorization, so a
// server that loops cannot hold a worker.
const maxHops = 12

// authCodeFlow drives the authorization code flow the way a browser and a
// relying party do together: authorize (PKCE S256, state, nonce), the login
// form, the consent form when shown, and the code exchange. By default each
// iteration starts with an empty cookie jar so that it measures a full
// login; with Config.KeepSession each worker keeps its jar, and the
// iterations after the first measure single sign-on instead.
type authCodeFlow struct {
	e                 *env
	authURL, tokenURL string
	redirect          *url.URL
	scope             string
}

func newAuthCodeFlow(e *env) (flow, error) {
	authURL, err := e.meta.endpoint("authorization_endpoint", e.meta.AuthorizationEndpoint)
	if err != nil {
		return nil, err
	}
	tokenURL, err := e.meta.endpoint("token_endpoint", e.meta.TokenEndpoint)
	if err != nil {
		return nil, err
	}
	redirect, err := url.Parse(e.cfg.RedirectURI)
	if err != nil {
		return nil, fmt.Errorf("--redirect-uri: %w", err)
	}
	return &authCodeFlow{e: e, authURL: authURL, tokenURL: tokenURL, redirect: redirect, scope: withScope(e.cfg.Scope, "openid")}, nil
}

func (f *authCodeFlow) newWorker(context.Context, int) (worker, error) {
	w := &authCodeWorker{f: f}
	if f.e.cfg.KeepSession {
		jar, err := cookiejar.New(nil)
		if err != nil {
			return nil, fmt.Errorf("cookie jar: %w", err)
		}
		w.jar = jar
	}
	return w, nil
}

// authCodeWorker is one browser: its cookie jar is its own.
type authCodeWorker struct {
	f   *authCodeFlow
	jar http.CookieJar
}

func (w *authCodeWorker) do(ctx context.Context) error {
	jar := w.jar
	if jar == nil {
		var err error
		if jar, err = cookiejar.New(nil); err != nil {
			return fmt.Errorf("cookie jar: %w", err)
		}
	}
	return w.f.authorize(ctx, jar)
}

func (f *authCodeFlow) authorize(ctx context.Context, jar http.CookieJar) error {
	cfg := f.e.cfg
	verifier, state, nonce := randomToken(), randomToken(), randomToken()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {cfg.ClientID},
		"redirect_uri":          {cfg.RedirectURI},
		"scope":                 {f.scope},
		"state":                 {state},
		"nonce":                 {nonce},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	if cfg.Audience != "" {
		q.Set("audience", cfg.Audience)
	}
	c := newClient(cfg, f.e.rt, jar)

	method, target, body := http.MethodGet, withQuery(f.authURL, q), ""
	var loginSeen, consentSeen bool
	for range maxHops {
		req, err := http.NewRequestWithContext(ctx, method, target, strings.NewReader(body))
		if err != nil {
			return flowError("bad URL in a redirect or form action")
		}
		if method == http.MethodPost {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, page, err := do(c, req)
		if err != nil {
			return err
		}
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			loc, err := resp.Location()
			if err != nil {
				return flowError("redirect without Location")
			}
			if sameEndpoint(loc, f.redirect) {
				return f.exchange(ctx, loc.Query(), state, verifier)
			}
			method, target, body = http.MethodGet, loc.String(), ""
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return statusError(resp, page)
		}
		forms, err := parseForms(page)
		if err != nil {
			return flowError("unparsable page")
		}
		form, isLogin := pickForm(forms)
		switch {
		case form == nil:
			return flowError("page without a login or consent form")
		case isLogin && loginSeen:
			return flowError("login rejected (login form shown again)")
		case isLogin:
			loginSeen = true
			user := form.userField
			if user == "" {
				user = "username"
			}
			form.fields.Set(user, cfg.Username)
			form.fields.Set(form.passField, cfg.Password)
			if s, ok := form.submitValue("login", "log in", "sign in"); ok {
				form.fields.Set(s.name, s.value)
			}
		case consentSeen:
			return flowError("consent shown again after allow")
		default:
			consentSeen = true
			s, _ := form.submitValue("allow", "accept", "approve")
			form.fields.Set(s.name, s.value)
		}
		action, err := resp.Request.URL.Parse(form.action)
		if err != nil {
			return flowError("bad form action")
		}
		if form.method == http.MethodPost {
			method, target, body = http.MethodPost, action.String(), form.fields.Encode()
		} else {
			method, target, body = http.MethodGet, withQuery(action.String(), form.fields), ""
		}
	}
	return flowError("too many redirects")
}

// pickForm prefers a login form (one with a password input) and otherwise
// a consent form (one with an allow button).
func pickForm(forms []*htmlForm) (*htmlForm, bool) {
	for _, f := range forms {
		if f.passField != "" {
			return f, true
		}
	}
	for _, f := range forms {
		if _, ok := f.submitValue("allow", "accept", "approve"); ok {
			return f, false
		}
	}
	return nil, false
}

// exchange checks the authorization response (RFC 6749 §4.1.2, state per
// §10.12) and redeems the code with the PKCE verifier (RFC 7636 §4.5).
func (f *authCodeFlow) exchange(ctx context.Context, q url.Values, state, verifier string) error {
	if e := q.Get("error"); e != "" {
		return &opError{kind: "authorize: " + truncate(e, 64)}
	}
	if q.Get("state") != state {
		return flowError("state mismatch in authorization response")
	}
	code := q.Get("code")
	if code == "" {
		return flowError("authorization response without code")
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {f.e.cfg.RedirectURI},
		"code_verifier": {verifier},
	}
	_, err := requestToken(ctx, f.e.client, f.tokenURL, f.e.auth(), form)
	return err
}

// sameEndpoint compares scheme, host and path: the redirect URI is where
// the flow stops instead of following.
func sameEndpoint(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host) && a.Path == b.Path
}

func withQuery(u string, q url.Values) string {
	if len(q) == 0 {
		return u
	}
	if strings.Contains(u, "?") {
		return u + "&" + q.Encode()
	}
	return u + "?" + q.Encode()
}

// randomToken returns 256 random bits, base64url: a PKCE verifier
// (RFC 7636 §4.1 asks for 43–128 characters), a state or a nonce.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

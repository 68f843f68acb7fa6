package upstream

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// oidcDefaults are the standard claims (OIDC Core §5.1).
var oidcDefaults = map[string]string{
	"subject": "sub", "username": "preferred_username", "email": "email",
	"email_verified": "email_verified", "name": "name", "groups": "groups",
}

// idTokenAlgs are the signature algorithms accepted for an upstream's ID
// token: asymmetric only (an HS256 token would be "signed" with our own
// client secret, and "none" is not a signature).
var idTokenAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// clockSkew is the leeway on exp and iat: clocks of two machines differ.
const clockSkew = time.Minute

// discoveryTTL is how long a discovery document is trusted.
const discoveryTTL = time.Hour

type discovery struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	UserinfoEndpoint      string   `json:"userinfo_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	TokenAuthMethods      []string `json:"token_endpoint_auth_methods_supported"`
	IDTokenAlgs           []string `json:"id_token_signing_alg_values_supported"`
}

type oidcUpstream struct {
	cfg Config
	o   Options

	mu        sync.Mutex
	disc      *discovery
	discAt    time.Time
	keys      *jose.JSONWebKeySet
	keysAt    time.Time // last JWKS fetch (success or not)
	keysFetch sync.Mutex
}

func newOIDC(cfg Config, o Options) *oidcUpstream {
	cfg.Issuer = strings.TrimSuffix(cfg.Issuer, "/")
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{"openid", "email", "profile"}
	}
	if !slices.Contains(cfg.Scopes, "openid") {
		cfg.Scopes = append([]string{"openid"}, cfg.Scopes...)
	}
	return &oidcUpstream{cfg: cfg, o: o}
}

func (u *oidcUpstream) ID() string   { return u.cfg.ID }
func (u *oidcUpstream) Name() string { return u.cfg.Name }
func (u *oidcUpstream) Type() string { return "oidc" }

func (u *oidcUpstream) discoveryURL() string {
	return u.cfg.Issuer + "/.well-known/openid-configuration"
}

// discover returns the cached discovery document or fetches it. The
// issuer it names must be ours exactly (OIDC Discovery §4.3), or tokens
// it vouches for would carry another issuer.
func (u *oidcUpstream) discover(ctx context.Context) (*discovery, error) {
	u.mu.Lock()
	d, at := u.disc, u.discAt
	u.mu.Unlock()
	if d != nil && u.o.Now().Sub(at) < discoveryTTL {
		return d, nil
	}
	var doc discovery
	if err := getJSON(ctx, u.o.HTTPClient, u.discoveryURL(), "", &doc); err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	if doc.Issuer != u.cfg.Issuer {
		return nil, fmt.Errorf("%w: discovery names issuer %q, configured %q", ErrRefused, doc.Issuer, u.cfg.Issuer)
	}
	for _, e := range []struct{ name, v string }{
		{"authorization_endpoint", doc.AuthorizationEndpoint}, {"token_endpoint", doc.TokenEndpoint}, {"jwks_uri", doc.JWKSURI},
	} {
		if p, err := url.Parse(e.v); err != nil || p.Host == "" || (p.Scheme != "https" && p.Scheme != "http") {
			return nil, fmt.Errorf("%w: discovery %s %q is not an absolute URL", ErrRefused, e.name, e.v)
		}
	}
	u.mu.Lock()
	u.disc, u.discAt = &doc, u.o.Now()
	u.mu.Unlock()
	return &doc, nil
}

// keySet returns the cached JWKS; refresh fetches it again unless that
// happened less than JWKSRefresh ago (then the cached set is returned).
func (u *oidcUpstream) keySet(ctx context.Context, d *discovery, refresh bool) (*jose.JSONWebKeySet, error) {
	u.keysFetch.Lock() // one fetch at a time; the others wait for its result
	defer u.keysFetch.Unlock()
	u.mu.Lock()
	ks, at := u.keys, u.keysAt
	u.mu.Unlock()
	if ks != nil && (!refresh || u.o.Now().Sub(at) < u.o.JWKSRefresh) {
		return ks, nil
	}
	var set jose.JSONWebKeySet
	err := getJSON(ctx, u.o.HTTPClient, d.JWKSURI, "", &set)
	u.mu.Lock()
	u.keysAt = u.o.Now()
	if err == nil {
		u.keys = &set
	}
	ks = u.keys
	u.mu.Unlock()
	if err != nil {
		if ks != nil {
			return ks, nil // keep using the keys we have
		}
		return nil, fmt.Errorf("jwks: %w", err)
	}
	return ks, nil
}

func (u *oidcUpstream) AuthURL(ctx context.Context, a Attempt) (string, error) {
	d, err := u.discover(ctx)
	if err != nil {
		return "", err
	}
	return authCodeURL(d.AuthorizationEndpoint, u.cfg.ClientID, a, u.cfg.Scopes, true)
}

// authCodeURL builds the authorization request (RFC 6749 §4.1.1 with
// PKCE S256, RFC 7636 §4.3; nonce, OIDC Core §3.1.2.1).
func authCodeURL(endpoint, clientID string, a Attempt, scopes []string, nonce bool) (string, error) {
	p, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("%w: authorization endpoint: %v", ErrRefused, err)
	}
	q := p.Query()
	q.Set("response_type", "code")
	q.Set("client_id", clientID)
	q.Set("redirect_uri", a.RedirectURI)
	q.Set("scope", strings.Join(scopes, " "))
	q.Set("state", a.State)
	if nonce {
		q.Set("nonce", a.Nonce)
	}
	sum := sha256.Sum256([]byte(a.Verifier))
	q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
	q.Set("code_challenge_method", "S256")
	p.RawQuery = q.Encode()
	return p.String(), nil
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	IDToken     string `json:"id_token"`
	Error       string `json:"error"`
}

// redeem exchanges the code at the token endpoint (RFC 6749 §4.1.3),
// authenticating with client_secret_basic unless the upstream only
// supports client_secret_post.
func redeem(ctx context.Context, hc *http.Client, endpoint string, cfg Config, a Attempt, code string, post bool) (tokenResponse, error) {
	form := url.Values{
		"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {a.RedirectURI}, "code_verifier": {a.Verifier},
	}
	if post {
		form.Set("client_id", cfg.ClientID)
		form.Set("client_secret", cfg.ClientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return tokenResponse{}, fmt.Errorf("%w: token endpoint: %v", ErrRefused, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if !post {
		// RFC 6749 §2.3.1: both form-urlencoded before Basic encoding.
		req.SetBasicAuth(url.QueryEscape(cfg.ClientID), url.QueryEscape(cfg.ClientSecret))
	}
	var tr tokenResponse
	if err := doJSON(hc, req, &tr); err != nil {
		return tokenResponse{}, fmt.Errorf("token: %w", err)
	}
	if tr.Error != "" { // GitHub answers errors with 200
		return tokenResponse{}, fmt.Errorf("%w: token endpoint: %s", ErrRefused, trim(tr.Error))
	}
	if tr.AccessToken == "" {
		return tokenResponse{}, fmt.Errorf("%w: token endpoint: no access_token", ErrRefused)
	}
	return tr, nil
}

func (u *oidcUpstream) Finish(ctx context.Context, a Attempt, q url.Values) (Identity, error) {
	d, err := u.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	// RFC 9207 §2.4: a response naming another issuer is a mix-up attack.
	if iss := q.Get("iss"); iss != "" && iss != u.cfg.Issuer {
		return Identity{}, fmt.Errorf("%w: authorization response from issuer %q", ErrRefused, iss)
	}
	code := q.Get("code")
	if code == "" {
		return Identity{}, fmt.Errorf("%w: callback without code", ErrRefused)
	}
	post := len(d.TokenAuthMethods) > 0 && !slices.Contains(d.TokenAuthMethods, "client_secret_basic") &&
		slices.Contains(d.TokenAuthMethods, "client_secret_post")
	tr, err := redeem(ctx, u.o.HTTPClient, d.TokenEndpoint, u.cfg, a, code, post)
	if err != nil {
		return Identity{}, err
	}
	if tr.IDToken == "" {
		return Identity{}, fmt.Errorf("%w: token response has no id_token", ErrRefused)
	}
	claims, err := u.verify(ctx, d, tr.IDToken, a.Nonce)
	if err != nil {
		return Identity{}, err
	}
	if u.cfg.Userinfo && d.UserinfoEndpoint != "" {
		var info map[string]any
		if err := getJSON(ctx, u.o.HTTPClient, d.UserinfoEndpoint, tr.AccessToken, &info); err != nil {
			return Identity{}, fmt.Errorf("userinfo: %w", err)
		}
		// OIDC Core §5.3.2: the userinfo sub must be the ID token's, or
		// the response is someone else's (token substitution).
		if s, _ := info["sub"].(string); s != claims["sub"] {
			return Identity{}, fmt.Errorf("%w: userinfo sub differs from the ID token's", ErrRefused)
		}
		for k, v := range info {
			claims[k] = v
		}
	}
	return mapClaims(claims, u.cfg.Claims, oidcDefaults)
}

// verify checks an ID token as OIDC Core §3.1.3.7 says and returns its
// claims.
func (u *oidcUpstream) verify(ctx context.Context, d *discovery, raw, nonce string) (map[string]any, error) {
	tok, err := jwt.ParseSigned(raw, idTokenAlgs)
	if err != nil {
		return nil, fmt.Errorf("%w: id_token: %v", ErrRefused, err)
	}
	if len(tok.Headers) != 1 {
		return nil, fmt.Errorf("%w: id_token: expected one signature", ErrRefused)
	}
	kid := tok.Headers[0].KeyID
	ks, err := u.keySet(ctx, d, false)
	if err != nil {
		return nil, err
	}
	keys := candidates(ks, kid)
	if len(keys) == 0 {
		// Key rollover: the upstream signs with a key we have not seen.
		if ks, err = u.keySet(ctx, d, true); err != nil {
			return nil, err
		}
		keys = candidates(ks, kid)
	}
	var claims map[string]any
	var std jwt.Claims
	verified := false
	for _, k := range keys {
		if err := tok.Claims(k.Key, &claims, &std); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return nil, fmt.Errorf("%w: id_token: signature not verified by any key of %s (kid %q)", ErrRefused, d.JWKSURI, kid)
	}
	now := u.o.Now()
	// Exact string comparison (§3.1.3.7 item 2).
	if std.Issuer != u.cfg.Issuer {
		return nil, fmt.Errorf("%w: id_token: iss %q, want %q", ErrRefused, std.Issuer, u.cfg.Issuer)
	}
	if !std.Audience.Contains(u.cfg.ClientID) {
		return nil, fmt.Errorf("%w: id_token: aud %v does not contain our client_id", ErrRefused, []string(std.Audience))
	}
	// Items 4 and 5: with several audiences azp must be there, and when
	// it is there it must be us.
	azp, _ := claims["azp"].(string)
	if (len(std.Audience) > 1 && azp == "") || (azp != "" && azp != u.cfg.ClientID) {
		return nil, fmt.Errorf("%w: id_token: azp %q is not our client_id", ErrRefused, azp)
	}
	if std.Expiry == nil || !now.Before(std.Expiry.Time().Add(clockSkew)) {
		return nil, fmt.Errorf("%w: id_token: expired or without exp", ErrRefused)
	}
	if std.IssuedAt != nil && std.IssuedAt.Time().After(now.Add(clockSkew)) {
		return nil, fmt.Errorf("%w: id_token: issued in the future", ErrRefused)
	}
	// Item 11: the nonce we sent, in constant time (it is a secret of
	// this browser's attempt).
	got, _ := claims["nonce"].(string)
	if nonce == "" || !constantEqual(got, nonce) {
		return nil, fmt.Errorf("%w: id_token: nonce does not match", ErrRefused)
	}
	if std.Subject == "" {
		return nil, fmt.Errorf("%w: id_token: no sub", ErrRefused)
	}
	return claims, nil
}

// candidates are the keys that may have signed a token with kid: the one
// with that kid, or every signing key when the token names none.
func candidates(ks *jose.JSONWebKeySet, kid string) []jose.JSONWebKey {
	if ks == nil {
		return nil
	}
	var out []jose.JSONWebKey
	for _, k := range ks.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		if kid == "" || k.KeyID == kid {
			out = append(out, k)
		}
	}
	return out
}

func (u *oidcUpstream) Check(ctx context.Context) []Probe {
	disc := probe(ctx, u.o.HTTPClient, "discovery", u.discoveryURL())
	if !disc.OK {
		return []Probe{disc, {What: "jwks", Error: "discovery unreachable"}}
	}
	d, err := u.discover(ctx)
	if err != nil {
		disc.OK, disc.Error = false, err.Error()
		return []Probe{disc, {What: "jwks", Error: "discovery unusable"}}
	}
	jw := Probe{What: "jwks", URL: d.JWKSURI}
	var set jose.JSONWebKeySet
	if err := getJSON(ctx, u.o.HTTPClient, d.JWKSURI, "", &set); err != nil {
		jw.Error = err.Error()
	} else if len(set.Keys) == 0 {
		jw.Error = "no keys"
	} else {
		jw.OK = true
	}
	return []Probe{disc, jw}
}

func decodeJSON(b []byte, dst any) error { return json.Unmarshal(b, dst) }

// errorOf extracts an OAuth error from a body for the log.
func errorOf(body []byte) string {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Message     string `json:"message"`
	}
	_ = json.Unmarshal(body, &e)
	return trim(strings.TrimSpace(e.Error + " " + e.Description + " " + e.Message))
}

func trim(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}

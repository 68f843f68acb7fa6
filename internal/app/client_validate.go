package app

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/sesameauth/sesame/storage"
)

// TokenExchangeGrantType is the grant type of token exchange (RFC 8693
// §2.1).
const TokenExchangeGrantType = "urn:ietf:params:oauth:grant-type:token-exchange"

// Supported values.
var (
	GrantTypes    = []string{"authorization_code", "refresh_token", "client_credentials", "password", DeviceGrantType, TokenExchangeGrantType}
	ResponseTypes = []string{"code"}
	AuthMethods   = []string{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"}
	SigningAlgs   = []string{"RS256", "ES256", "EdDSA", "PS256"}
)

// Bounds on list sizes, so one registration cannot bloat every token
// request that loads the client.
const (
	MaxRedirectURIs = 20
	MaxScopes       = 50
	MaxAudiences    = 20
	MaxCORSOrigins  = 20
	MaxContacts     = 10
	maxURILength    = 2000
)

// ValidateClient applies defaults to c, normalises it (trimmed, duplicates
// dropped) and checks every field, returning a *ValidationError naming the
// first bad field. The CLI, the admin API and dynamic registration all call
// it, so a client is either valid everywhere or nowhere.
//
// Defaults (RFC 7591 §2): grant_types [authorization_code]; response_types
// [code] when authorization_code is allowed; token_endpoint_auth_method
// none for public clients, client_secret_basic otherwise. Registering
// auth method none makes the client public.
func ValidateClient(c *storage.Client) error {
	normalizeClient(c)
	name, err := checkText("client_name", c.Name, 200)
	if err != nil {
		return err
	}
	c.Name = name
	if c.Description, err = checkText("description", c.Description, 1000); err != nil {
		return err
	}
	if err := checkGrantsAndResponses(c); err != nil {
		return err
	}
	if err := checkAuthMethod(c); err != nil {
		return err
	}
	if err := checkRedirects(c); err != nil {
		return err
	}
	if err := checkScopesAndAudience(c); err != nil {
		return err
	}
	if c.AccessTokenFormat != "" && c.AccessTokenFormat != "jwt" && c.AccessTokenFormat != "opaque" {
		return invalid("access_token_format", c.AccessTokenFormat, "must be jwt or opaque (or empty for the server default)")
	}
	if c.IDTokenSignedResponseAlg != "" && !contains(SigningAlgs, c.IDTokenSignedResponseAlg) {
		return invalid("id_token_signed_response_alg", c.IDTokenSignedResponseAlg, "must be one of "+strings.Join(SigningAlgs, ", "))
	}
	if len(c.AllowedCORSOrigins) > MaxCORSOrigins {
		return invalid("allowed_cors_origins", "", fmt.Sprintf("at most %d origins", MaxCORSOrigins))
	}
	for i, o := range c.AllowedCORSOrigins {
		if err := checkOrigin(fmt.Sprintf("allowed_cors_origins[%d]", i), o); err != nil {
			return err
		}
	}
	for _, f := range []struct{ field, v string }{
		{"logo_uri", c.LogoURI}, {"client_uri", c.ClientURI}, {"policy_uri", c.PolicyURI}, {"tos_uri", c.TermsURI},
	} {
		if err := checkWebURI(f.field, f.v); err != nil {
			return err
		}
	}
	if len(c.Contacts) > MaxContacts {
		return invalid("contacts", "", fmt.Sprintf("at most %d contacts", MaxContacts))
	}
	for i, ct := range c.Contacts {
		if _, err := checkText(fmt.Sprintf("contacts[%d]", i), ct, 254); err != nil {
			return err
		}
	}
	for _, l := range []struct {
		field string
		v     int64
	}{
		{"lifespans.access_token", int64(c.Lifespans.AccessToken)}, {"lifespans.refresh_token", int64(c.Lifespans.RefreshToken)},
		{"lifespans.id_token", int64(c.Lifespans.IDToken)}, {"lifespans.auth_code", int64(c.Lifespans.AuthCode)},
	} {
		if l.v < 0 {
			return invalid(l.field, "", "must not be negative")
		}
	}
	if c.Metadata != "" {
		var obj map[string]any
		if err := json.Unmarshal([]byte(c.Metadata), &obj); err != nil || obj == nil {
			return invalid("metadata", "", "must be a JSON object")
		}
	}
	return nil
}

func normalizeClient(c *storage.Client) {
	for _, l := range []*[]string{
		&c.RedirectURIs, &c.PostLogoutRedirectURIs, &c.GrantTypes, &c.ResponseTypes,
		&c.Scopes, &c.Audience, &c.AllowedCORSOrigins, &c.Contacts, &c.TokenExchangeAudiences,
	} {
		*l = dedupe(*l)
	}
	c.TokenEndpointAuthMethod = strings.TrimSpace(c.TokenEndpointAuthMethod)
	c.AccessTokenFormat = strings.TrimSpace(c.AccessTokenFormat)
	c.LogoURI, c.ClientURI = strings.TrimSpace(c.LogoURI), strings.TrimSpace(c.ClientURI)
	c.PolicyURI, c.TermsURI = strings.TrimSpace(c.PolicyURI), strings.TrimSpace(c.TermsURI)
	c.JWKS, c.JWKSURI = strings.TrimSpace(c.JWKS), strings.TrimSpace(c.JWKSURI)
	if len(c.GrantTypes) == 0 {
		c.GrantTypes = []string{"authorization_code"}
	}
	if len(c.ResponseTypes) == 0 && contains(c.GrantTypes, "authorization_code") {
		c.ResponseTypes = []string{"code"}
	}
	if c.TokenEndpointAuthMethod == "none" {
		c.Public = true
	}
	if c.TokenEndpointAuthMethod == "" {
		if c.Public {
			c.TokenEndpointAuthMethod = "none"
		} else {
			c.TokenEndpointAuthMethod = "client_secret_basic"
		}
	}
}

func checkGrantsAndResponses(c *storage.Client) error {
	for i, g := range c.GrantTypes {
		if !contains(GrantTypes, g) {
			return invalid(fmt.Sprintf("grant_types[%d]", i), g, "unsupported grant type (want "+strings.Join(GrantTypes, ", ")+")")
		}
		if c.Public && (g == "client_credentials" || g == "password" || g == TokenExchangeGrantType) {
			// A public client cannot keep a secret, so it cannot
			// authenticate for grants that rest on client authentication.
			return invalid(fmt.Sprintf("grant_types[%d]", i), g, "not allowed for public clients")
		}
	}
	for i, r := range c.ResponseTypes {
		if !contains(ResponseTypes, r) {
			return invalid(fmt.Sprintf("response_types[%d]", i), r, "unsupported response type (want code)")
		}
	}
	hasCode := contains(c.GrantTypes, "authorization_code")
	// RFC 7591 §2.1: grant_types and response_types must be consistent.
	if hasCode && !contains(c.ResponseTypes, "code") {
		return invalid("response_types", "", "must include code for the authorization_code grant")
	}
	if !hasCode && contains(c.ResponseTypes, "code") {
		return invalid("response_types", "code", "needs the authorization_code grant")
	}
	if hasCode && len(c.RedirectURIs) == 0 {
		return invalid("redirect_uris", "", "at least one is required for the authorization_code grant")
	}
	if contains(c.GrantTypes, "refresh_token") && !hasCode && !contains(c.GrantTypes, "password") && !contains(c.GrantTypes, DeviceGrantType) {
		return invalid("grant_types", "refresh_token", "needs authorization_code, password or "+DeviceGrantType+" (refresh tokens are issued only by those grants)")
	}
	return nil
}

func checkAuthMethod(c *storage.Client) error {
	m := c.TokenEndpointAuthMethod
	if !contains(AuthMethods, m) {
		return invalid("token_endpoint_auth_method", m, "must be one of "+strings.Join(AuthMethods, ", "))
	}
	if c.Public && m != "none" {
		return invalid("token_endpoint_auth_method", m, "public clients must use none")
	}
	if c.JWKSURI != "" {
		return invalid("jwks_uri", c.JWKSURI, "not supported: register the public keys inline with jwks")
	}
	if m == "private_key_jwt" && c.JWKS == "" {
		return invalid("jwks", "", "required for private_key_jwt")
	}
	if c.JWKS != "" {
		return checkJWKS(c.JWKS)
	}
	return nil
}

// checkJWKS accepts a JSON Web Key Set (RFC 7517 §5) of valid public keys.
// A private or symmetric key here would be a leaked secret.
func checkJWKS(raw string) error {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(raw), &set); err != nil {
		return invalid("jwks", "", "must be a JSON Web Key Set: "+err.Error())
	}
	if len(set.Keys) == 0 {
		return invalid("jwks", "", "must hold at least one key")
	}
	for i, k := range set.Keys {
		field := fmt.Sprintf("jwks.keys[%d]", i)
		if !k.IsPublic() {
			return invalid(field, k.KeyID, "must be a public key (private and symmetric keys are refused)")
		}
		if !k.Valid() {
			return invalid(field, k.KeyID, "is not a valid key")
		}
	}
	return nil
}

func checkRedirects(c *storage.Client) error {
	for _, l := range []struct {
		field string
		uris  []string
	}{{"redirect_uris", c.RedirectURIs}, {"post_logout_redirect_uris", c.PostLogoutRedirectURIs}} {
		if len(l.uris) > MaxRedirectURIs {
			return invalid(l.field, "", fmt.Sprintf("at most %d URIs", MaxRedirectURIs))
		}
		for i, u := range l.uris {
			if err := checkRedirectURI(fmt.Sprintf("%s[%d]", l.field, i), u, c.Public); err != nil {
				return err
			}
		}
	}
	return nil
}

// forbiddenSchemes can run code or read local files in the browser.
var forbiddenSchemes = []string{"javascript", "data", "file", "vbscript", "about", "blob"}

// checkRedirectURI enforces RFC 6749 §3.1.2 (absolute, no fragment),
// exact matching (no wildcards), https except loopback (RFC 8252 §7.3), and
// private-use schemes only for native (public) apps (RFC 8252 §7.1).
func checkRedirectURI(field, raw string, public bool) error {
	if raw == "" {
		return invalid(field, raw, "must not be empty")
	}
	if len(raw) > maxURILength {
		return invalid(field, raw[:40]+"…", fmt.Sprintf("must be at most %d characters", maxURILength))
	}
	if strings.Contains(raw, "*") {
		return invalid(field, raw, "must not contain a wildcard (redirect URIs are matched exactly)")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return invalid(field, raw, "must be an absolute URI")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return invalid(field, raw, "must not contain a fragment")
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case contains(forbiddenSchemes, scheme):
		return invalid(field, raw, "scheme "+scheme+" is not allowed")
	case scheme == "https":
		if u.Host == "" {
			return invalid(field, raw, "must have a host")
		}
	case scheme == "http":
		if !isLoopback(u.Hostname()) {
			return invalid(field, raw, "must use https (http is allowed only for localhost, 127.0.0.1 and [::1])")
		}
	default:
		if !strings.Contains(scheme, ".") {
			return invalid(field, raw, "a private-use scheme must be reverse-DNS, like com.example.app:/callback")
		}
		if !public {
			return invalid(field, raw, "private-use URI schemes are only for public (native) clients")
		}
	}
	if u.User != nil {
		return invalid(field, raw, "must not contain user information")
	}
	return nil
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// checkOrigin accepts a Web origin (RFC 6454): scheme://host[:port] only.
func checkOrigin(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return invalid(field, raw, "must be an origin like https://app.example.com")
	}
	if u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil || strings.Contains(raw, "#") {
		return invalid(field, raw, "must be scheme://host[:port] only (no path, query or fragment)")
	}
	return nil
}

// checkWebURI accepts "" or an absolute http(s) URL.
func checkWebURI(field, raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(raw) > maxURILength {
		return invalid(field, raw, "must be an absolute http(s) URL")
	}
	return nil
}

func checkScopesAndAudience(c *storage.Client) error {
	if len(c.Scopes) > MaxScopes {
		return invalid("scope", "", fmt.Sprintf("at most %d scopes", MaxScopes))
	}
	for _, s := range c.Scopes {
		if !validScopeToken(s) {
			return invalid("scope", s, "scopes are space-separated tokens of printable ASCII without quotes or backslashes")
		}
	}
	for _, l := range []struct {
		field string
		auds  []string
	}{{"audience", c.Audience}, {"token_exchange_audiences", c.TokenExchangeAudiences}} {
		if len(l.auds) > MaxAudiences {
			return invalid(l.field, "", fmt.Sprintf("at most %d audiences", MaxAudiences))
		}
		for i, a := range l.auds {
			if !validScopeToken(a) || len(a) > 500 {
				return invalid(fmt.Sprintf("%s[%d]", l.field, i), a, "must be non-empty printable ASCII without spaces")
			}
		}
	}
	return nil
}

// validScopeToken implements RFC 6749 §3.3:
// scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
func validScopeToken(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b < 0x21 || b > 0x7e || b == '"' || b == '\\' {
			return false
		}
	}
	return true
}

func contains(set []string, v string) bool {
	for _, s := range set {
		if s == v {
			return true
		}
	}
	return false
}

// dedupe trims entries and drops empties' duplicates, keeping order.
// Empty entries are kept so validation can point at them.
func dedupe(in []string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, 0, len(in))
	seen := make(map[string]bool, len(in))
	for _, v := range in {
		v = strings.TrimSpace(v)
		if seen[v] {
			continue
		}
		seen[v] = true
		out = append(out, v)
	}
	return out
}

// SplitScope splits an RFC 6749 scope string ("openid profile") into tokens.
func SplitScope(s string) []string { return strings.Fields(s) }

package admin

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// actorRegistration attributes changes made through RFC 7591/7592 in the
// audit log.
const actorRegistration = "registration"

// registrationAccessTokenPrefix marks RFC 7592 registration access tokens.
const registrationAccessTokenPrefix = "sesame_rat_"

// reservedScopePrefix: scopes that grant power over this server
// (sesame:admin, sesame:introspect) are given by an administrator only; a
// self-registered client asking for them would escalate itself.
const reservedScopePrefix = "sesame:"

// registrationMetadata is the RFC 7591 §2 client metadata Sesame
// understands. Anything else in the request is ignored (§2), except the
// software statement (§2.3), which is refused because none is trusted.
type registrationMetadata struct {
	RedirectURIs             []string        `json:"redirect_uris"`
	PostLogoutRedirectURIs   []string        `json:"post_logout_redirect_uris"`
	TokenEndpointAuthMethod  string          `json:"token_endpoint_auth_method"`
	GrantTypes               []string        `json:"grant_types"`
	ResponseTypes            []string        `json:"response_types"`
	ClientName               string          `json:"client_name"`
	ClientURI                string          `json:"client_uri"`
	LogoURI                  string          `json:"logo_uri"`
	Scope                    string          `json:"scope"`
	Contacts                 []string        `json:"contacts"`
	TOSURI                   string          `json:"tos_uri"`
	PolicyURI                string          `json:"policy_uri"`
	JWKSURI                  string          `json:"jwks_uri"`
	JWKS                     json.RawMessage `json:"jwks"`
	SoftwareID               string          `json:"software_id"`
	SoftwareVersion          string          `json:"software_version"`
	SoftwareStatement        *string         `json:"software_statement"`
	IDTokenSignedResponseAlg string          `json:"id_token_signed_response_alg"`
	// RFC 7592 §2.2: an update repeats client_id (and may repeat the secret).
	ClientID     *string `json:"client_id"`
	ClientSecret *string `json:"client_secret"`
}

// registrationResponse is the RFC 7591 §3.2.1 / RFC 7592 §3 client
// information response.
type registrationResponse struct {
	ClientID                 string          `json:"client_id"`
	ClientSecret             string          `json:"client_secret,omitempty"`
	ClientIDIssuedAt         int64           `json:"client_id_issued_at"`
	ClientSecretExpiresAt    *int64          `json:"client_secret_expires_at,omitempty"`
	RegistrationAccessToken  string          `json:"registration_access_token,omitempty"`
	RegistrationClientURI    string          `json:"registration_client_uri"`
	RedirectURIs             []string        `json:"redirect_uris"`
	PostLogoutRedirectURIs   []string        `json:"post_logout_redirect_uris,omitempty"`
	GrantTypes               []string        `json:"grant_types"`
	ResponseTypes            []string        `json:"response_types"`
	TokenEndpointAuthMethod  string          `json:"token_endpoint_auth_method"`
	ClientName               string          `json:"client_name,omitempty"`
	Scope                    string          `json:"scope,omitempty"`
	ClientURI                string          `json:"client_uri,omitempty"`
	LogoURI                  string          `json:"logo_uri,omitempty"`
	TOSURI                   string          `json:"tos_uri,omitempty"`
	PolicyURI                string          `json:"policy_uri,omitempty"`
	Contacts                 []string        `json:"contacts,omitempty"`
	JWKS                     json.RawMessage `json:"jwks,omitempty"`
	IDTokenSignedResponseAlg string          `json:"id_token_signed_response_alg,omitempty"`
	SoftwareID               string          `json:"software_id,omitempty"`
	SoftwareVersion          string          `json:"software_version,omitempty"`
}

// softwareInfo is what Client.Metadata keeps of a registration.
type softwareInfo struct {
	SoftwareID      string `json:"software_id,omitempty"`
	SoftwareVersion string `json:"software_version,omitempty"`
}

func regError(code, format string, a ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: code, Description: fmt.Sprintf(format, a...)}
}

func unauthorized(desc string) *apiError {
	return &apiError{Status: http.StatusUnauthorized, Code: "invalid_token", Description: desc}
}

// writeRegError answers with RFC 7591 §3.2.2 error codes: a validation
// failure of a redirect URI is invalid_redirect_uri, any other metadata
// problem invalid_client_metadata; a 401 carries the RFC 6750 challenge.
func (h *Handler) writeRegError(c *gin.Context, err error) {
	var (
		ve *app.ValidationError
		ae *apiError
	)
	if errors.As(err, &ve) {
		code := "invalid_client_metadata"
		if strings.HasPrefix(ve.Field, "redirect_uris") || strings.HasPrefix(ve.Field, "post_logout_redirect_uris") {
			code = "invalid_redirect_uri"
		}
		err = regError(code, "%s", ve.Error())
	}
	if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	h.writeError(c, err)
}

// parse decodes and pre-checks the metadata; app.ValidateClient does the
// rest, exactly as for the CLI and the admin API.
func parseRegistration(body []byte) (registrationMetadata, error) {
	var m registrationMetadata
	if err := decodeBytes(body, &m, false, "invalid_client_metadata"); err != nil {
		return m, err
	}
	if m.SoftwareStatement != nil {
		// RFC 7591 §3.2.2: a statement that is not even a JWS is invalid;
		// a well-formed one is unapproved, as no issuer is trusted.
		if !looksLikeJWS(*m.SoftwareStatement) {
			return m, regError("invalid_software_statement", "software_statement: must be a signed JWT")
		}
		return m, regError("unapproved_software_statement", "software_statement: software statements are not accepted by this server")
	}
	for _, s := range app.SplitScope(m.Scope) {
		if strings.HasPrefix(s, reservedScopePrefix) {
			return m, regError("invalid_client_metadata", "scope %q: reserved for clients created by an administrator", s)
		}
	}
	if slices.Contains(m.GrantTypes, "password") {
		// A third-party client must never see users' passwords.
		return m, regError("invalid_client_metadata", "grant_types: password is not available to dynamically registered clients")
	}
	for _, f := range []struct{ name, v string }{{"software_id", m.SoftwareID}, {"software_version", m.SoftwareVersion}} {
		if _, err := app.CheckText(f.name, f.v, 200); err != nil {
			return m, err
		}
	}
	return m, nil
}

func looksLikeJWS(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts[:2] {
		if _, err := base64.RawURLEncoding.DecodeString(p); err != nil || p == "" {
			return false
		}
	}
	return true
}

func (m registrationMetadata) metadataJSON() string {
	if m.SoftwareID == "" && m.SoftwareVersion == "" {
		return ""
	}
	b, _ := json.Marshal(softwareInfo{SoftwareID: m.SoftwareID, SoftwareVersion: m.SoftwareVersion})
	return string(b)
}

func (m registrationMetadata) jwks() string {
	if len(m.JWKS) == 0 || string(m.JWKS) == "null" {
		return ""
	}
	return string(m.JWKS)
}

func (m registrationMetadata) spec() app.ClientSpec {
	return app.ClientSpec{
		Name: m.ClientName, RedirectURIs: m.RedirectURIs, PostLogoutRedirectURIs: m.PostLogoutRedirectURIs,
		GrantTypes: m.GrantTypes, ResponseTypes: m.ResponseTypes, Scopes: app.SplitScope(m.Scope),
		TokenEndpointAuthMethod: m.TokenEndpointAuthMethod, Public: strings.TrimSpace(m.TokenEndpointAuthMethod) == "none",
		LogoURI: m.LogoURI, ClientURI: m.ClientURI, PolicyURI: m.PolicyURI, TermsURI: m.TOSURI,
		Contacts: m.Contacts, JWKS: m.jwks(), JWKSURI: m.JWKSURI, IDTokenSignedResponseAlg: m.IDTokenSignedResponseAlg,
		Metadata: m.metadataJSON(),
	}
}

// patch replaces every registrable field (RFC 7592 §2.2: omitted fields
// are removed) and keeps what only an administrator sets (audience, CORS
// origins, token format, consent skipping, lifespans).
func (m registrationMetadata) patch() app.ClientPatch {
	s := m.spec()
	return app.ClientPatch{
		Name: &s.Name, RedirectURIs: &s.RedirectURIs, PostLogoutRedirectURIs: &s.PostLogoutRedirectURIs,
		GrantTypes: &s.GrantTypes, ResponseTypes: &s.ResponseTypes, Scopes: &s.Scopes,
		TokenEndpointAuthMethod: &s.TokenEndpointAuthMethod, Public: &s.Public,
		LogoURI: &s.LogoURI, ClientURI: &s.ClientURI, PolicyURI: &s.PolicyURI, TermsURI: &s.TermsURI,
		Contacts: &s.Contacts, JWKS: &s.JWKS, IDTokenSignedResponseAlg: &s.IDTokenSignedResponseAlg, Metadata: &s.Metadata,
	}
}

func (h *Handler) registrationResponse(c storage.Client, clientSecret, regToken string) registrationResponse {
	r := registrationResponse{
		ClientID: c.ID, ClientSecret: clientSecret, ClientIDIssuedAt: c.CreatedAt.Unix(),
		RegistrationAccessToken: regToken, RegistrationClientURI: h.issuer + PathRegister + "/" + c.ID,
		RedirectURIs: nonNil(c.RedirectURIs), PostLogoutRedirectURIs: c.PostLogoutRedirectURIs,
		GrantTypes: nonNil(c.GrantTypes), ResponseTypes: nonNil(c.ResponseTypes),
		TokenEndpointAuthMethod: c.TokenEndpointAuthMethod, ClientName: c.Name, Scope: strings.Join(c.Scopes, " "),
		ClientURI: c.ClientURI, LogoURI: c.LogoURI, TOSURI: c.TermsURI, PolicyURI: c.PolicyURI,
		Contacts: c.Contacts, IDTokenSignedResponseAlg: c.IDTokenSignedResponseAlg,
	}
	if !c.Public {
		// RFC 7591 §3.2.1: required with a secret; 0 = never expires.
		zero := int64(0)
		r.ClientSecretExpiresAt = &zero
	}
	if c.JWKS != "" {
		r.JWKS = json.RawMessage(c.JWKS)
	}
	var sw softwareInfo
	if c.Metadata != "" && json.Unmarshal([]byte(c.Metadata), &sw) == nil {
		r.SoftwareID, r.SoftwareVersion = sw.SoftwareID, sw.SoftwareVersion
	}
	return r
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func writeRegistration(c *gin.Context, status int, r registrationResponse) {
	c.Header("Pragma", "no-cache")
	writeJSON(c, status, r)
}

// register is POST /oauth2/register (RFC 7591 §3.1). Unless open
// registration is on, it needs an initial access token; its use is counted
// in the same transaction that creates the client, so a rejected request
// does not spend a use.
func (h *Handler) register(c *gin.Context) {
	tok, present := bearerToken(c.Request)
	if !present && !h.open {
		c.Header("WWW-Authenticate", `Bearer`)
		h.writeError(c, unauthorized("an initial access token is required to register a client"))
		return
	}
	body, err := readBody(c, "invalid_client_metadata")
	if err != nil {
		h.writeRegError(c, err)
		return
	}
	regToken, err := secret.RandomToken(32)
	if err != nil {
		h.writeRegError(c, err)
		return
	}
	regToken = registrationAccessTokenPrefix + regToken
	var (
		cl           storage.Client
		clientSecret string
	)
	err = storage.InTx(c.Request.Context(), h.store, func(ctx context.Context) error {
		if present {
			if tok == "" {
				return unauthorized("the initial access token is invalid, expired or used up")
			}
			if _, err := h.store.UseRegistrationToken(ctx, secret.HashToken(tok), h.now().UTC()); err != nil {
				if errors.Is(err, storage.ErrNotFound) {
					return unauthorized("the initial access token is invalid, expired or used up")
				}
				return fmt.Errorf("use registration token: %w", err)
			}
		}
		m, err := parseRegistration(body)
		if err != nil {
			return err
		}
		spec := m.spec()
		spec.RegistrationTokenHash = secret.HashToken(regToken)
		// RFC 7591 has no metadata for the APIs a client may call; the
		// operator names them (an MCP client that registers itself may
		// then ask for an MCP server with resource=, RFC 8707).
		spec.Audience = slices.Clone(h.regAud)
		cl, clientSecret, err = h.svc.CreateClient(ctx, actorRegistration, spec)
		return err
	})
	if err != nil {
		h.writeRegError(c, err)
		return
	}
	writeRegistration(c, http.StatusCreated, h.registrationResponse(cl, clientSecret, regToken))
}

// registeredClient authenticates an RFC 7592 request: the bearer must be
// the registration access token of the client in the URL. An unknown client
// and a wrong token are the same 401 (RFC 7592 §2.1), so the answer does
// not reveal which client ids exist.
func (h *Handler) registeredClient(c *gin.Context) (storage.Client, error) {
	tok, _ := bearerToken(c.Request)
	cl, err := h.store.GetClient(c.Request.Context(), c.Param("client_id"))
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return storage.Client{}, fmt.Errorf("get client: %w", err)
	}
	want := cl.RegistrationTokenHash
	if want == "" {
		// Compare anyway so the timing matches the known-client path.
		want = secret.HashToken("")
	}
	ok := subtle.ConstantTimeCompare([]byte(secret.HashToken(tok)), []byte(want)) == 1
	if err != nil || tok == "" || cl.RegistrationTokenHash == "" || !ok {
		return storage.Client{}, unauthorized("the registration access token is invalid for this client")
	}
	return cl, nil
}

// newRegistrationToken returns a fresh registration access token and its
// hash.
func newRegistrationToken() (tok, hash string, err error) {
	tok, err = secret.RandomToken(32)
	if err != nil {
		return "", "", err
	}
	tok = registrationAccessTokenPrefix + tok
	return tok, secret.HashToken(tok), nil
}

// registrationRead is GET /oauth2/register/{client_id} (RFC 7592 §2.1).
// The secret is stored hashed, so it is not repeated; the registration
// access token is rotated (RFC 7592 §3: the server "MAY" issue a new one
// on any read or update, and the old one is then invalid), so a leaked
// token works at most until the client's next call.
func (h *Handler) registrationRead(c *gin.Context) {
	cl, err := h.registeredClient(c)
	if err != nil {
		h.writeRegError(c, err)
		return
	}
	tok, hash, err := newRegistrationToken()
	if err != nil {
		h.writeRegError(c, err)
		return
	}
	updated, _, err := h.svc.UpdateClient(c.Request.Context(), actorRegistration, cl.ID, app.ClientPatch{RegistrationTokenHash: &hash})
	if err != nil {
		h.writeRegError(c, err)
		return
	}
	writeRegistration(c, http.StatusOK, h.registrationResponse(updated, "", tok))
}

// widens reports whether the update asks for a scope, grant type or
// redirect URI the client does not have now.
func widens(cur storage.Client, p app.ClientPatch) bool {
	more := func(have []string, want *[]string) bool {
		if want == nil {
			return false
		}
		for _, v := range *want {
			if !slices.Contains(have, v) {
				return true
			}
		}
		return false
	}
	return more(cur.Scopes, p.Scopes) || more(cur.GrantTypes, p.GrantTypes) || more(cur.RedirectURIs, p.RedirectURIs)
}

// registrationUpdate is PUT /oauth2/register/{client_id} (RFC 7592 §2.2).
func (h *Handler) registrationUpdate(c *gin.Context) {
	cl, err := h.registeredClient(c)
	if err != nil {
		h.writeRegError(c, err)
		return
	}
	body, err := readBody(c, "invalid_client_metadata")
	if err != nil {
		h.writeRegError(c, err)
		return
	}
	m, err := parseRegistration(body)
	if err != nil {
		h.writeRegError(c, err)
		return
	}
	if m.ClientID != nil && *m.ClientID != cl.ID {
		h.writeRegError(c, regError("invalid_client_metadata", "client_id: must match the client being updated"))
		return
	}
	if m.ClientSecret != nil && !h.svc.VerifyClientSecret(cl, *m.ClientSecret) {
		h.writeRegError(c, regError("invalid_client_metadata", "client_secret: does not match the client's secret"))
		return
	}
	p := m.patch()
	if widens(cl, p) {
		// Trust an administrator gave (first-party consent skipping, API
		// audiences) was given to the client as it was; a client that
		// widens its own scopes, grants or redirect URIs loses it until an
		// administrator grants it again (docs/security.md).
		noSkip, noAud := false, []string{}
		p.SkipConsent, p.Audience = &noSkip, &noAud
	}
	tok, hash, err := newRegistrationToken()
	if err != nil {
		h.writeRegError(c, err)
		return
	}
	p.RegistrationTokenHash = &hash
	updated, clientSecret, err := h.svc.UpdateClient(c.Request.Context(), actorRegistration, cl.ID, p)
	if err != nil {
		h.writeRegError(c, err)
		return
	}
	writeRegistration(c, http.StatusOK, h.registrationResponse(updated, clientSecret, tok))
}

// registrationDelete is DELETE /oauth2/register/{client_id} (RFC 7592
// §2.3): the client and every grant issued to it are gone.
func (h *Handler) registrationDelete(c *gin.Context) {
	cl, err := h.registeredClient(c)
	if err != nil {
		h.writeRegError(c, err)
		return
	}
	if err := h.svc.DeleteClient(c.Request.Context(), actorRegistration, cl.ID); err != nil {
		h.writeRegError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

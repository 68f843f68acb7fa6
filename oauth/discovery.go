package oauth

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// Discovery and JWKS cache lifetimes: metadata changes only with a restart;
// the JWKS must pick up a new key within a rotation's publish lead.
const (
	discoveryCacheControl = "public, max-age=3600"
	jwksCacheControl      = "public, max-age=300"
)

// buildDiscovery serializes the metadata document once (OpenID Connect
// Discovery 1.0 §3 and RFC 8414 §2 share it). Entries of
// Config.ExtraDiscovery are added but cannot replace ours.
func (h *Handler) buildDiscovery() ([]byte, error) {
	iss := h.cfg.Issuer
	authMethods := []string{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"}
	doc := map[string]any{}
	for k, v := range h.cfg.ExtraDiscovery {
		doc[k] = v
	}
	for k, v := range map[string]any{
		"issuer":                                iss,
		"token_endpoint":                        iss + PathToken,
		"introspection_endpoint":                iss + PathIntrospect,
		"revocation_endpoint":                   iss + PathRevoke,
		"device_authorization_endpoint":         iss + PathDeviceAuthorization,
		"pushed_authorization_request_endpoint": iss + PathPAR,
		"require_pushed_authorization_requests": h.cfg.RequirePushedAuthorizationRequests,
		"jwks_uri":                              iss + PathJWKS,
		"grant_types_supported":                 supportedGrantTypes,
		"response_types_supported":              []string{"code"},
		// form_post (OAuth 2.0 Form Post Response Mode) is answered under the
		// strict CSP, without inline script (oauth/formpost.go, web/ui).
		// fragment is for the implicit and hybrid flows, which are not offered.
		"response_modes_supported":              []string{"query", "form_post"},
		"token_endpoint_auth_methods_supported": authMethods,
		// fosite verifies client assertions with RSA, RSA-PSS and ECDSA keys.
		"token_endpoint_auth_signing_alg_values_supported":         []string{"RS256", "PS256", "ES256"},
		"introspection_endpoint_auth_methods_supported":            authMethods[:3],
		"introspection_endpoint_auth_signing_alg_values_supported": []string{"RS256", "PS256", "ES256"},
		"revocation_endpoint_auth_methods_supported":               authMethods,
		// RFC 8414 §2: REQUIRED wherever private_key_jwt is offered.
		"revocation_endpoint_auth_signing_alg_values_supported": []string{"RS256", "PS256", "ES256"},
		"id_token_signing_alg_values_supported":                 h.idAlgs,
		"code_challenge_methods_supported":                      []string{"S256"},
		"scopes_supported":                                      []string{"openid", "profile", "email", "groups", "offline_access"},
		"claims_supported": []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid", "at_hash",
			"name", "preferred_username", "email", "email_verified", "groups"},
		"subject_types_supported":                        []string{"public"},
		"authorization_response_iss_parameter_supported": true,
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
		"claims_parameter_supported":                     false,
		"dpop_signing_alg_values_supported":              h.dpop.AlgorithmNames(), // RFC 9449 §5.1
	} {
		doc[k] = v
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("oauth: discovery document: %w", err)
	}
	return b, nil
}

// serveDiscovery is GET /.well-known/openid-configuration and
// /.well-known/oauth-authorization-server.
func (h *Handler) serveDiscovery(c *gin.Context) {
	c.Header("Cache-Control", discoveryCacheControl)
	c.Data(http.StatusOK, "application/json", h.discovery)
}

// serveJWKS is GET /.well-known/jwks.json: every published key (pending,
// active, retired until RetireAfter), with an ETag for conditional GETs.
func (h *Handler) serveJWKS(c *gin.Context) {
	body, etag, err := h.keys.JWKS(c.Request.Context())
	if err != nil {
		h.logger.ErrorContext(c.Request.Context(), "oauth: jwks", "err", err)
		c.Header("Cache-Control", "no-store")
		c.Data(http.StatusServiceUnavailable, "application/json", []byte(`{"error":"temporarily_unavailable"}`))
		return
	}
	c.Header("Cache-Control", jwksCacheControl)
	c.Header("ETag", etag)
	if etagMatches(c.GetHeader("If-None-Match"), etag) {
		c.Status(http.StatusNotModified)
		return
	}
	c.Data(http.StatusOK, "application/json", body)
}

// etagMatches implements If-None-Match (RFC 9110 §13.1.2, weak comparison).
func etagMatches(header, etag string) bool {
	if header == "" || etag == "" {
		return false
	}
	norm := func(s string) string { return strings.TrimPrefix(strings.TrimSpace(s), "W/") }
	for _, cand := range strings.Split(header, ",") {
		if c := strings.TrimSpace(cand); c == "*" || norm(c) == norm(etag) {
			return true
		}
	}
	return false
}

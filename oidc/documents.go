package oidc

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/oauth"
)

// Paths of the documents, relative to the issuer.
const (
	// PathOIDCDiscovery is OpenID Connect Discovery 1.0 §4.
	PathOIDCDiscovery = "/.well-known/openid-configuration"
	// PathASMetadata is RFC 8414 §3.
	PathASMetadata = "/.well-known/oauth-authorization-server"
	// PathJWKS is the jwks_uri of both.
	PathJWKS = "/.well-known/jwks.json"
)

// Cache lifetimes: metadata changes only with a restart; the JWKS must
// pick up a new key within a rotation's publish lead.
const (
	discoveryCacheControl = "public, max-age=3600"
	jwksCacheControl      = "public, max-age=300"
)

// jwksSource is the published key set (internal/keys.Manager): the
// serialized document and its strong ETag, both precomputed.
type jwksSource interface {
	JWKS(ctx context.Context) (body []byte, etag string, err error)
}

// discovery is the metadata document (OpenID Connect Discovery 1.0 §3 and
// RFC 8414 §2 share it): oauth's Metadata and the entries of the
// endpoints mounted beside it. Only what is really served is advertised.
// The JSON names must not repeat one of oauth.Metadata's (encoding/json
// would drop it silently); documents_test.go checks.
type discovery struct {
	oauth.Metadata

	AuthorizationEndpoint string `json:"authorization_endpoint"`
	UserinfoEndpoint      string `json:"userinfo_endpoint"`
	EndSessionEndpoint    string `json:"end_session_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
	// RegistrationEndpoint is RFC 7591's, mounted by internal/admin; empty
	// when it is not mounted.
	RegistrationEndpoint string `json:"registration_endpoint,omitempty"`

	PromptValuesSupported []string `json:"prompt_values_supported"`
	ACRValuesSupported    []string `json:"acr_values_supported"`
	ClaimsSupported       []string `json:"claims_supported"`
	// ClientIDMetadataDocumentSupported: a client_id may be an https URL
	// of the client's metadata (SESAME_CLIENT_ID_METADATA_DOCUMENTS).
	ClientIDMetadataDocumentSupported bool `json:"client_id_metadata_document_supported"`
}

// documents serves the discovery documents and the JWKS from bytes
// computed ahead of the request.
type documents struct {
	discovery []byte
	jwks      jwksSource
	log       *slog.Logger
}

// newDocuments serializes the discovery document once.
func newDocuments(d Deps) (*documents, error) {
	md := d.OAuth.Metadata()
	iss := strings.TrimRight(d.Issuer, "/")
	if md.Issuer != iss {
		return nil, fmt.Errorf("oidc: Deps.Issuer %q is not the oauth handler's issuer %q", iss, md.Issuer)
	}
	doc := discovery{
		Metadata:              md,
		AuthorizationEndpoint: iss + PathAuthorize,
		UserinfoEndpoint:      iss + PathUserinfo,
		EndSessionEndpoint:    iss + PathLogout,
		JWKSURI:               iss + PathJWKS,
		RegistrationEndpoint:  d.Registration,
		PromptValuesSupported: []string{"none", "login", "consent"},
		ACRValuesSupported:    app.ACRValuesSupported,
		ClaimsSupported: []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid", "at_hash",
			"name", "preferred_username", "updated_at", "email", "email_verified", "groups"},
		ClientIDMetadataDocumentSupported: d.ClientIDMetadataDocuments,
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("oidc: discovery document: %w", err)
	}
	return &documents{discovery: b, jwks: d.Keys, log: d.Logger}, nil
}

// mount registers the documents.
func (d *documents) mount(r gin.IRouter) {
	r.GET(PathOIDCDiscovery, d.serveDiscovery)
	r.GET(PathASMetadata, d.serveDiscovery)
	r.GET(PathJWKS, d.serveJWKS)
}

// serveDiscovery is GET /.well-known/openid-configuration and
// /.well-known/oauth-authorization-server.
func (d *documents) serveDiscovery(c *gin.Context) {
	c.Header("Cache-Control", discoveryCacheControl)
	c.Data(http.StatusOK, "application/json", d.discovery)
}

// serveJWKS is GET /.well-known/jwks.json: every published key (pending,
// active, retired until RetireAfter), with an ETag for conditional GETs.
func (d *documents) serveJWKS(c *gin.Context) {
	body, etag, err := d.jwks.JWKS(c.Request.Context())
	if err != nil {
		d.log.ErrorContext(c.Request.Context(), "oidc: jwks", "err", err)
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

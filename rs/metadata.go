package rs

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
)

// WellKnownProtectedResource is the RFC 9728 §3 well-known suffix.
const WellKnownProtectedResource = "/.well-known/oauth-protected-resource"

// ProtectedResource is an API's RFC 9728 metadata: the document an OAuth
// client (an MCP client, for example) reads to learn which authorization
// server issues tokens for the API and which scopes it understands. Only
// the fields Sesame's clients need are modelled; Extra adds others.
type ProtectedResource struct {
	// Resource is the API's resource identifier (RFC 9728 §2): an https
	// URL (http only on loopback) without fragment; with Sesame it is the
	// URI registered with `sesame resources create` and the tokens' aud.
	Resource string
	// AuthorizationServers are the issuers whose tokens the API accepts.
	AuthorizationServers []string
	// ScopesSupported lists the scopes the API understands.
	ScopesSupported []string
	// ResourceName is shown to people.
	ResourceName string
	// ResourceDocumentation is a URL of documentation for developers.
	ResourceDocumentation string
	// DPoPSigningAlgs, when set, is dpop_signing_alg_values_supported.
	DPoPSigningAlgs []string
	// Extra fields of the document; they never override the fields above.
	Extra map[string]any
}

// Validate checks the resource identifier and the issuers.
func (m ProtectedResource) Validate() error {
	if err := checkResourceID(m.Resource); err != nil {
		return fmt.Errorf("rs: ProtectedResource.Resource: %w", err)
	}
	if len(m.AuthorizationServers) == 0 {
		return errors.New("rs: ProtectedResource.AuthorizationServers is required")
	}
	for _, as := range m.AuthorizationServers {
		if err := checkResourceID(as); err != nil {
			return fmt.Errorf("rs: ProtectedResource.AuthorizationServers %q: %w", as, err)
		}
	}
	return nil
}

func checkResourceID(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Fragment != "" || strings.Contains(raw, "#") || u.RawQuery != "" {
		return errors.New("must be an absolute URL without query or fragment")
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname())) {
		return errors.New("must be https (http only on loopback)")
	}
	return nil
}

func isLoopbackHost(h string) bool { return h == "localhost" || h == "127.0.0.1" || h == "::1" }

// MetadataPath is where the document is served for Resource (RFC 9728
// §3.1): the well-known suffix inserted between the host and the path,
// so https://api.example.com/mcp has
// /.well-known/oauth-protected-resource/mcp.
func (m ProtectedResource) MetadataPath() string {
	u, err := url.Parse(m.Resource)
	if err != nil {
		return WellKnownProtectedResource
	}
	return WellKnownProtectedResource + strings.TrimSuffix(u.EscapedPath(), "/")
}

// MetadataURL is the absolute URL of the document, derived from Resource
// as a client derives it.
func (m ProtectedResource) MetadataURL() string {
	u, err := url.Parse(m.Resource)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host + m.MetadataPath()
}

// document is the JSON the handler serves.
func (m ProtectedResource) document() map[string]any {
	doc := map[string]any{}
	for k, v := range m.Extra {
		doc[k] = v
	}
	doc["resource"] = m.Resource
	doc["authorization_servers"] = m.AuthorizationServers
	// RFC 6750 §2.1 only: tokens in bodies or query strings leak.
	doc["bearer_methods_supported"] = []string{"header"}
	if len(m.ScopesSupported) > 0 {
		doc["scopes_supported"] = m.ScopesSupported
	}
	if m.ResourceName != "" {
		doc["resource_name"] = m.ResourceName
	}
	if m.ResourceDocumentation != "" {
		doc["resource_documentation"] = m.ResourceDocumentation
	}
	if len(m.DPoPSigningAlgs) > 0 {
		doc["dpop_signing_alg_values_supported"] = m.DPoPSigningAlgs
	}
	return doc
}

// Handler serves the document (GET and HEAD; anything else is 405). It
// is public and cacheable: it says nothing a client may not know. It
// fails when the metadata is invalid.
func (m ProtectedResource) Handler() (http.Handler, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	body, err := json.Marshal(m.document())
	if err != nil {
		return nil, fmt.Errorf("rs: encode protected resource metadata: %w", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		// Browser-based clients fetch it cross-origin (RFC 9728 §3).
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_, _ = w.Write(body)
	}), nil
}

// Mount serves the document on mux at MetadataPath.
func (m ProtectedResource) Mount(mux *http.ServeMux) error {
	h, err := m.Handler()
	if err != nil {
		return err
	}
	mux.Handle(m.MetadataPath(), h)
	return nil
}

// MountGin serves the document on a gin router at MetadataPath.
func (m ProtectedResource) MountGin(r gin.IRoutes) error {
	h, err := m.Handler()
	if err != nil {
		return err
	}
	r.GET(m.MetadataPath(), gin.WrapH(h))
	r.HEAD(m.MetadataPath(), gin.WrapH(h))
	return nil
}

// WithResourceMetadata adds resource_metadata="url" (RFC 9728 §5.1) to
// every challenge, so a client that gets a 401 or 403 can find the
// document, and through it the authorization server. Use the
// ProtectedResource's MetadataURL, or where it is really served when
// the API is reached through another name.
func WithResourceMetadata(metadataURL string) Option {
	return func(o *options) { o.resourceMetadata = metadataURL }
}

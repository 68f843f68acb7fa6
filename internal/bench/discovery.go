package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Metadata is the part of OpenID Connect Discovery 1.0 / RFC 8414 the flows
// need.
type Metadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
	UserinfoEndpoint      string `json:"userinfo_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
}

// Discover reads <issuer>/.well-known/openid-configuration and falls back
// to the RFC 8414 oauth-authorization-server document (both the path-
// inserted form of §3.1 and the plain suffix that many servers serve).
func Discover(ctx context.Context, c *http.Client, issuer string) (*Metadata, error) {
	issuer = strings.TrimRight(issuer, "/")
	var errs []string
	for _, u := range discoveryURLs(issuer) {
		body, err := get(ctx, c, u, "")
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", u, err))
			continue
		}
		var m Metadata
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, fmt.Errorf("discovery %s: %w", u, err)
		}
		if m.TokenEndpoint == "" {
			return nil, fmt.Errorf("discovery %s: no token_endpoint", u)
		}
		return &m, nil
	}
	return nil, fmt.Errorf("discovery failed: %s", strings.Join(errs, "; "))
}

func discoveryURLs(issuer string) []string {
	urls := []string{
		issuer + "/.well-known/openid-configuration",
		issuer + "/.well-known/oauth-authorization-server",
	}
	if u, err := url.Parse(issuer); err == nil && strings.Trim(u.Path, "/") != "" {
		path := u.Path
		u.Path = "/.well-known/oauth-authorization-server" + path
		urls = append(urls, u.String())
	}
	return urls
}

// endpoint returns the discovered URL a flow needs or names what is missing.
func (m *Metadata) endpoint(name, u string) (string, error) {
	if u == "" {
		return "", fmt.Errorf("discovery document has no %s", name)
	}
	return u, nil
}

package rs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// metadata is the subset of RFC 8414 / OpenID Connect Discovery 1.0 metadata
// a resource server needs.
type metadata struct {
	Issuer                string `json:"issuer"`
	JWKSURI               string `json:"jwks_uri"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
}

// maxBody bounds every response we read from the issuer, so a broken or
// hostile endpoint cannot make us buffer without limit.
const maxBody = 1 << 20

var errNotFound = errors.New("not found")

// discover fetches the issuer's metadata. It tries the OpenID Connect
// location first (issuer + "/.well-known/openid-configuration"), then the
// RFC 8414 §3.1 location, which inserts the well-known segment between host
// and path. RFC 8414 §3.3: the issuer in the document must equal the one we
// asked for, or an attacker-controlled document could redirect us to their
// keys.
func discover(ctx context.Context, client *http.Client, issuer string) (*metadata, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("rs: issuer %q is not an absolute URL", issuer)
	}
	trimmed := strings.TrimSuffix(issuer, "/")
	path := strings.TrimSuffix(u.Path, "/")
	candidates := []string{
		trimmed + "/.well-known/openid-configuration",
		u.Scheme + "://" + u.Host + "/.well-known/oauth-authorization-server" + path,
	}
	var lastErr error
	for _, c := range candidates {
		var md metadata
		err := getJSON(ctx, client, c, &md)
		if errors.Is(err, errNotFound) {
			lastErr = err
			continue
		}
		if err != nil {
			return nil, err
		}
		if md.Issuer != issuer {
			return nil, fmt.Errorf("rs: metadata at %s names issuer %q, want %q", c, md.Issuer, issuer)
		}
		return &md, nil
	}
	return nil, fmt.Errorf("rs: no discovery document for issuer %s: %w", issuer, lastErr)
}

// getJSON GETs url and decodes a 200 JSON body into dst.
func getJSON(ctx context.Context, client *http.Client, url string, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("rs: build request for %s: %w", url, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("rs: GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		return fmt.Errorf("rs: GET %s: %w", url, errNotFound)
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		return fmt.Errorf("rs: GET %s: status %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(dst); err != nil {
		return fmt.Errorf("rs: decode %s: %w", url, err)
	}
	return nil
}

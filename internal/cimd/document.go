package cimd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
)

// ErrInvalidDocument is wrapped when a fetched document is not acceptable
// client metadata.
var ErrInvalidDocument = errors.New("cimd: invalid client metadata document")

// DefaultScopes are what a client whose document names no scope may ask
// for, besides the scopes of the registered APIs (Store adds those).
var DefaultScopes = []string{"openid", "profile", "email", "offline_access"}

// document is the RFC 7591 §2 metadata a client ID metadata document may
// carry (draft §4.1); anything else is ignored.
type document struct {
	ClientID                string          `json:"client_id"`
	ClientName              string          `json:"client_name"`
	ClientURI               string          `json:"client_uri"`
	LogoURI                 string          `json:"logo_uri"`
	TOSURI                  string          `json:"tos_uri"`
	PolicyURI               string          `json:"policy_uri"`
	RedirectURIs            []string        `json:"redirect_uris"`
	PostLogoutRedirectURIs  []string        `json:"post_logout_redirect_uris"`
	GrantTypes              []string        `json:"grant_types"`
	ResponseTypes           []string        `json:"response_types"`
	TokenEndpointAuthMethod string          `json:"token_endpoint_auth_method"`
	JWKSURI                 string          `json:"jwks_uri"`
	JWKS                    json.RawMessage `json:"jwks"`
	Scope                   string          `json:"scope"`
	Contacts                []string        `json:"contacts"`
	// Shared secrets are meaningless in a public document (§4.1).
	ClientSecret          json.RawMessage `json:"client_secret"`
	ClientSecretExpiresAt json.RawMessage `json:"client_secret_expires_at"`
}

// resolved is one client made from a document. NamedScopes: the document
// listed its scopes, so registered APIs' scopes are not added.
type resolved struct {
	client      storage.Client
	namedScopes bool
}

// supportedGrants: a document client signs people in through the browser;
// it cannot hold a secret for client_credentials or password, and the
// device flow's page does not resolve URL clients.
var supportedGrants = []string{"authorization_code", "refresh_token"}

// parseDocument turns the body fetched from id into a client, or an error
// wrapping ErrInvalidDocument. jwks fetches the key set of a
// private_key_jwt client.
func parseDocument(ctx context.Context, id string, body []byte, jwks func(ctx context.Context, uri string) (string, error)) (resolved, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidDocument, fmt.Sprintf(format, a...))
	}
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' {
		return resolved{}, bad("not a JSON object")
	}
	var d document
	if err := json.Unmarshal(body, &d); err != nil {
		return resolved{}, bad("not valid JSON: %v", err)
	}
	// §4.1: simple string comparison, no normalisation.
	if d.ClientID != id {
		return resolved{}, bad("client_id %q is not the document's URL", truncate(d.ClientID))
	}
	if present(d.ClientSecret) || present(d.ClientSecretExpiresAt) {
		return resolved{}, bad("a client secret has no place in a public document")
	}
	if present(d.JWKS) {
		return resolved{}, bad("jwks: publish the keys at a jwks_uri")
	}
	c := storage.Client{
		ID: id, Name: d.ClientName, RedirectURIs: d.RedirectURIs, PostLogoutRedirectURIs: d.PostLogoutRedirectURIs,
		ResponseTypes: d.ResponseTypes, LogoURI: d.LogoURI, ClientURI: d.ClientURI, PolicyURI: d.PolicyURI,
		TermsURI: d.TOSURI, Contacts: d.Contacts,
	}
	if len(d.GrantTypes) == 0 {
		c.GrantTypes = []string{"authorization_code"}
	}
	for _, g := range d.GrantTypes {
		if !slices.Contains(supportedGrants, g) {
			return resolved{}, bad("grant_types: %q is not available to clients identified by a metadata document", truncate(g))
		}
		c.GrantTypes = append(c.GrantTypes, g)
	}
	switch m := strings.TrimSpace(d.TokenEndpointAuthMethod); m {
	case "", "none":
		if d.JWKSURI != "" {
			return resolved{}, bad("jwks_uri is only for token_endpoint_auth_method private_key_jwt")
		}
		c.Public, c.TokenEndpointAuthMethod = true, "none"
	case "private_key_jwt":
		if d.JWKSURI == "" {
			return resolved{}, bad("private_key_jwt needs a jwks_uri")
		}
		set, err := jwks(ctx, d.JWKSURI)
		if err != nil {
			return resolved{}, fmt.Errorf("%w: jwks_uri: %w", ErrInvalidDocument, err)
		}
		c.TokenEndpointAuthMethod, c.JWKS = m, set
	default:
		// client_secret_basic/post/jwt rest on a shared secret (§4.1).
		return resolved{}, bad("token_endpoint_auth_method %q: only none and private_key_jwt are possible", truncate(m))
	}
	r := resolved{client: c}
	if scopes := app.SplitScope(d.Scope); len(scopes) > 0 {
		for _, s := range scopes {
			if strings.HasPrefix(s, "sesame:") {
				return resolved{}, bad("scope %q is reserved for clients an administrator created", truncate(s))
			}
		}
		r.client.Scopes, r.namedScopes = scopes, true
	} else {
		r.client.Scopes = slices.Clone(DefaultScopes)
	}
	// The very checks every registered client passes: redirect URIs
	// (absolute, no fragment or wildcard, https or loopback http),
	// response types, key set, URLs, text lengths.
	if err := app.ValidateClient(&r.client); err != nil {
		return resolved{}, fmt.Errorf("%w: %w", ErrInvalidDocument, err)
	}
	return r, nil
}

func present(raw json.RawMessage) bool {
	return len(raw) > 0 && string(bytes.TrimSpace(raw)) != "null"
}

// truncate keeps attacker-chosen text short in errors and logs.
func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

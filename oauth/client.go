package oauth

import (
	"log/slog"
	"slices"
	"time"

	"github.com/ory/fosite"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
)

// Client adapts a storage.Client to the fosite client interfaces.
type Client struct {
	c      storage.Client
	jwks   clientKeySet // parsed inline JWKS, nil if none or invalid (see jose3.go)
	logger *slog.Logger
}

var (
	_ fosite.Client                         = (*Client)(nil)
	_ fosite.OpenIDConnectClient            = (*Client)(nil)
	_ fosite.ClientWithSecretRotation       = (*Client)(nil)
	_ fosite.ClientWithCustomTokenLifespans = (*Client)(nil)
	_ fosite.ResponseModeClient             = (*Client)(nil)
)

func newClient(c storage.Client, logger *slog.Logger) *Client {
	cl := &Client{c: c, logger: logger}
	if c.JWKS != "" {
		set, err := parseClientJWKS(c.JWKS)
		if err != nil {
			// A broken registration must not break token requests of
			// other auth methods; private_key_jwt then fails with
			// invalid_client ("no keys").
			logger.Warn("oauth: ignoring unusable client jwks", "client_id", c.ID, "err", err)
		} else {
			cl.jwks = set
		}
	}
	return cl
}

// Record returns the stored client.
func (c *Client) Record() storage.Client { return c.c }

func (c *Client) GetID() string { return c.c.ID }

func (c *Client) GetHashedSecret() []byte { return []byte(c.c.SecretHash) }

func (c *Client) GetRotatedHashes() [][]byte {
	out := make([][]byte, 0, len(c.c.RotatedSecretHashes))
	for _, h := range c.c.RotatedSecretHashes {
		out = append(out, []byte(h))
	}
	return out
}

func (c *Client) GetRedirectURIs() []string { return c.c.RedirectURIs }

// GetGrantTypes returns the registered grant types. A public client never
// gets client_credentials, password or token exchange, whatever was
// registered (SPEC: the password grant is for confidential clients only),
// so fosite answers unauthorized_client.
func (c *Client) GetGrantTypes() fosite.Arguments {
	gts := c.c.GrantTypes
	if len(gts) == 0 {
		gts = []string{"authorization_code"}
	}
	if !c.IsPublic() {
		return fosite.Arguments(gts)
	}
	out := make([]string, 0, len(gts))
	for _, g := range gts {
		if g != "client_credentials" && g != "password" && g != app.TokenExchangeGrantType {
			out = append(out, g)
		}
	}
	return fosite.Arguments(out)
}

func (c *Client) GetResponseTypes() fosite.Arguments {
	if len(c.c.ResponseTypes) == 0 {
		return fosite.Arguments{"code"}
	}
	return fosite.Arguments(c.c.ResponseTypes)
}

func (c *Client) GetScopes() fosite.Arguments { return fosite.Arguments(c.c.Scopes) }

// IsPublic: a client registered as public, or with auth method "none".
func (c *Client) IsPublic() bool { return c.c.Public || c.c.TokenEndpointAuthMethod == "none" }

// GetAudience is what the client may request as audience: its registered
// audiences plus its own id (the default audience, SPEC "Tokens"), so that a
// grant whose aud defaulted to the client id passes fosite's audience check
// again on refresh.
func (c *Client) GetAudience() fosite.Arguments {
	out := slices.Clone(c.c.Audience)
	if !slices.Contains(out, c.c.ID) {
		out = append(out, c.c.ID)
	}
	return fosite.Arguments(out)
}

// defaultAudience is the aud of an access token when none was requested:
// the registered audiences, else the client id (never empty).
func (c *Client) defaultAudience() []string {
	if len(c.c.Audience) > 0 && !c.c.FromMetadataDocument() {
		return slices.Clone(c.c.Audience)
	}
	return []string{c.c.ID}
}

func (c *Client) GetRequestURIs() []string { return nil }

func (c *Client) GetJSONWebKeysURI() string { return c.c.JWKSURI }

// GetRequestObjectSigningAlgorithm: request objects are not supported.
func (c *Client) GetRequestObjectSigningAlgorithm() string { return "" }

// GetTokenEndpointAuthMethod defaults to client_secret_basic (RFC 7591 §2)
// and to none for public clients.
func (c *Client) GetTokenEndpointAuthMethod() string {
	switch {
	case c.c.TokenEndpointAuthMethod != "":
		return c.c.TokenEndpointAuthMethod
	case c.c.Public:
		return "none"
	}
	return "client_secret_basic"
}

// GetEffectiveLifespan applies the per-client lifetimes of storage.ClientLifespans.
func (c *Client) GetEffectiveLifespan(_ fosite.GrantType, tt fosite.TokenType, fallback time.Duration) time.Duration {
	l := c.c.Lifespans
	var d time.Duration
	switch tt {
	case fosite.AccessToken:
		d = l.AccessToken
	case fosite.RefreshToken:
		d = l.RefreshToken
	case fosite.IDToken:
		d = l.IDToken
	case fosite.AuthorizeCode:
		d = l.AuthCode
	}
	if d > 0 {
		return d
	}
	return fallback
}

// GetResponseModes lists the response modes a client may ask for
// explicitly; fosite refuses an explicit response_mode unless the client
// implements this. Only the code flow exists, so never fragment.
func (c *Client) GetResponseModes() []fosite.ResponseModeType {
	return []fosite.ResponseModeType{fosite.ResponseModeDefault, fosite.ResponseModeQuery, fosite.ResponseModeFormPost}
}

package app

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// ClientSpec is the full description of a client, the input of CreateClient
// and ReplaceClient. Zero values get ValidateClient's defaults.
type ClientSpec struct {
	ID                       string // "" = generated
	Name                     string
	Description              string
	RedirectURIs             []string
	PostLogoutRedirectURIs   []string
	GrantTypes               []string
	ResponseTypes            []string
	Scopes                   []string
	Audience                 []string
	TokenEndpointAuthMethod  string
	Public                   bool
	SkipConsent              bool
	RequireMFA               bool
	AccessTokenFormat        string
	AllowedCORSOrigins       []string
	LogoURI                  string
	ClientURI                string
	PolicyURI                string
	TermsURI                 string
	Contacts                 []string
	JWKS                     string
	JWKSURI                  string
	IDTokenSignedResponseAlg string
	Lifespans                storage.ClientLifespans
	Metadata                 string
	// RequirePushedAuthorizationRequests (RFC 9126 §6).
	RequirePushedAuthorizationRequests bool
	// TokenExchangeAudiences: what the client may obtain by token
	// exchange (RFC 8693).
	TokenExchangeAudiences []string
	// RegistrationTokenHash is set by dynamic registration (RFC 7592).
	RegistrationTokenHash string
}

// ClientPatch changes some fields of a client; nil fields are kept.
type ClientPatch struct {
	Name                     *string
	Description              *string
	RedirectURIs             *[]string
	PostLogoutRedirectURIs   *[]string
	GrantTypes               *[]string
	ResponseTypes            *[]string
	Scopes                   *[]string
	Audience                 *[]string
	TokenEndpointAuthMethod  *string
	Public                   *bool
	SkipConsent              *bool
	RequireMFA               *bool
	AccessTokenFormat        *string
	AllowedCORSOrigins       *[]string
	LogoURI                  *string
	ClientURI                *string
	PolicyURI                *string
	TermsURI                 *string
	Contacts                 *[]string
	JWKS                     *string
	IDTokenSignedResponseAlg *string
	Lifespans                *storage.ClientLifespans
	Metadata                 *string
	// RequirePushedAuthorizationRequests (RFC 9126 §6).
	RequirePushedAuthorizationRequests *bool
	// TokenExchangeAudiences (RFC 8693).
	TokenExchangeAudiences *[]string
	// RegistrationTokenHash replaces the RFC 7592 registration access
	// token ("" revokes it: the client can no longer manage itself).
	RegistrationTokenHash *string
}

func (s ClientSpec) apply(c *storage.Client) {
	c.Name, c.Description = s.Name, s.Description
	c.RedirectURIs, c.PostLogoutRedirectURIs = slices.Clone(s.RedirectURIs), slices.Clone(s.PostLogoutRedirectURIs)
	c.GrantTypes, c.ResponseTypes = slices.Clone(s.GrantTypes), slices.Clone(s.ResponseTypes)
	c.Scopes, c.Audience = slices.Clone(s.Scopes), slices.Clone(s.Audience)
	c.TokenEndpointAuthMethod, c.Public, c.SkipConsent = s.TokenEndpointAuthMethod, s.Public, s.SkipConsent
	c.RequireMFA = s.RequireMFA
	c.AccessTokenFormat, c.AllowedCORSOrigins = s.AccessTokenFormat, slices.Clone(s.AllowedCORSOrigins)
	c.LogoURI, c.ClientURI, c.PolicyURI, c.TermsURI = s.LogoURI, s.ClientURI, s.PolicyURI, s.TermsURI
	c.Contacts, c.JWKS, c.JWKSURI = slices.Clone(s.Contacts), s.JWKS, s.JWKSURI
	c.IDTokenSignedResponseAlg, c.Lifespans, c.Metadata = s.IDTokenSignedResponseAlg, s.Lifespans, s.Metadata
	c.RequirePushedAuthorizationRequests = s.RequirePushedAuthorizationRequests
	c.TokenExchangeAudiences = slices.Clone(s.TokenExchangeAudiences)
}

func (p ClientPatch) apply(c *storage.Client) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	setList := func(dst *[]string, v *[]string) {
		if v != nil {
			*dst = slices.Clone(*v)
		}
	}
	set(&c.Name, p.Name)
	set(&c.Description, p.Description)
	setList(&c.RedirectURIs, p.RedirectURIs)
	setList(&c.PostLogoutRedirectURIs, p.PostLogoutRedirectURIs)
	setList(&c.GrantTypes, p.GrantTypes)
	setList(&c.ResponseTypes, p.ResponseTypes)
	setList(&c.Scopes, p.Scopes)
	setList(&c.Audience, p.Audience)
	setList(&c.TokenExchangeAudiences, p.TokenExchangeAudiences)
	set(&c.TokenEndpointAuthMethod, p.TokenEndpointAuthMethod)
	if p.Public != nil {
		c.Public = *p.Public
		// Switching kind without naming a method picks the new default.
		if p.TokenEndpointAuthMethod == nil {
			c.TokenEndpointAuthMethod = ""
		}
	}
	if p.SkipConsent != nil {
		c.SkipConsent = *p.SkipConsent
	}
	if p.RequireMFA != nil {
		c.RequireMFA = *p.RequireMFA
	}
	if p.RequirePushedAuthorizationRequests != nil {
		c.RequirePushedAuthorizationRequests = *p.RequirePushedAuthorizationRequests
	}
	set(&c.AccessTokenFormat, p.AccessTokenFormat)
	setList(&c.AllowedCORSOrigins, p.AllowedCORSOrigins)
	set(&c.LogoURI, p.LogoURI)
	set(&c.ClientURI, p.ClientURI)
	set(&c.PolicyURI, p.PolicyURI)
	set(&c.TermsURI, p.TermsURI)
	setList(&c.Contacts, p.Contacts)
	set(&c.JWKS, p.JWKS)
	set(&c.RegistrationTokenHash, p.RegistrationTokenHash)
	set(&c.IDTokenSignedResponseAlg, p.IDTokenSignedResponseAlg)
	if p.Lifespans != nil {
		c.Lifespans = *p.Lifespans
	}
	set(&c.Metadata, p.Metadata)
}

// clientIDPattern keeps ids URL-path safe (RFC 3986 unreserved characters).
var clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9._~-]{1,128}$`)

// CreateClient validates and stores a client. For a confidential client it
// returns the generated secret (256 bits, base64url) in clear: the only
// time it is ever shown; only its keyed hash is stored.
func (s *Service) CreateClient(ctx context.Context, actor string, spec ClientSpec) (storage.Client, string, error) {
	var c storage.Client
	spec.apply(&c)
	if err := ValidateClient(&c); err != nil {
		return storage.Client{}, "", err
	}
	c.ID = spec.ID
	if c.ID == "" {
		id, err := newClientID()
		if err != nil {
			return storage.Client{}, "", err
		}
		c.ID = id
	} else if !clientIDPattern.MatchString(c.ID) {
		return storage.Client{}, "", invalid("client_id", c.ID, "must be 1–128 characters of letters, digits and . _ ~ -")
	}
	clientSecret, err := s.newSecretFor(&c)
	if err != nil {
		return storage.Client{}, "", err
	}
	c.RegistrationTokenHash = spec.RegistrationTokenHash
	c.CreatedAt = s.clock()
	c.UpdatedAt = c.CreatedAt
	err = s.inTx(ctx, func(ctx context.Context) error {
		if err := s.store.CreateClient(ctx, c); err != nil {
			if errors.Is(err, storage.ErrConflict) {
				return conflictf("client %q already exists", c.ID)
			}
			return fmt.Errorf("create client: %w", err)
		}
		return s.audit(ctx, actor, "client.created", c.ID, "", map[string]string{"name": c.Name, "public": fmt.Sprint(c.Public)})
	})
	if err != nil {
		return storage.Client{}, "", err
	}
	return c, clientSecret, nil
}

// newSecretFor sets a fresh secret hash on a confidential client that has
// none (and clears it on a client that cannot use one: public, or
// authenticating with private_key_jwt or none — issue 13 item 17: a secret
// nobody needs is only something to leak); it returns the clear secret or "".
func (s *Service) newSecretFor(c *storage.Client) (string, error) {
	if c.Public || c.TokenEndpointAuthMethod == "private_key_jwt" || c.TokenEndpointAuthMethod == "none" {
		c.SecretHash, c.RotatedSecretHashes = "", nil
		return "", nil
	}
	if c.SecretHash != "" {
		return "", nil
	}
	clientSecret, err := secret.RandomToken(32)
	if err != nil {
		return "", err
	}
	c.SecretHash = s.ring.HashClientSecret(clientSecret)
	return clientSecret, nil
}

// GetClient returns a client by id.
func (s *Service) GetClient(ctx context.Context, id string) (storage.Client, error) {
	if id == "" {
		return storage.Client{}, invalid("client_id", "", "must not be empty")
	}
	c, err := s.store.GetClient(ctx, id)
	if err != nil {
		return storage.Client{}, mapNotFound(err, "client", id)
	}
	return c, nil
}

// ListClients returns one page of clients ordered by id.
func (s *Service) ListClients(ctx context.Context, o storage.ListOptions) ([]storage.Client, string, error) {
	cs, next, err := s.store.ListClients(ctx, o)
	if err != nil {
		return nil, "", fmt.Errorf("list clients: %w", err)
	}
	return cs, next, nil
}

// UpdateClient applies a partial change. A client made confidential gets a
// new secret, returned in clear; one made public loses its secret.
func (s *Service) UpdateClient(ctx context.Context, actor, id string, p ClientPatch) (storage.Client, string, error) {
	return s.saveClient(ctx, actor, id, p.apply)
}

// ReplaceClient replaces every field of a client but its id, secret and
// creation time (RFC 7592 §2.2 full update).
func (s *Service) ReplaceClient(ctx context.Context, actor, id string, spec ClientSpec) (storage.Client, string, error) {
	return s.saveClient(ctx, actor, id, spec.apply)
}

func (s *Service) saveClient(ctx context.Context, actor, id string, change func(*storage.Client)) (storage.Client, string, error) {
	var (
		out          storage.Client
		clientSecret string
	)
	err := s.inTx(ctx, func(ctx context.Context) error {
		c, err := s.GetClient(ctx, id)
		if err != nil {
			return err
		}
		change(&c)
		if err := ValidateClient(&c); err != nil {
			return err
		}
		if clientSecret, err = s.newSecretFor(&c); err != nil {
			return err
		}
		c.UpdatedAt = s.clock()
		if err := s.store.UpdateClient(ctx, c); err != nil {
			return fmt.Errorf("update client: %w", mapNotFound(err, "client", id))
		}
		out = c
		return s.audit(ctx, actor, "client.updated", c.ID, "", nil)
	})
	if err != nil {
		return storage.Client{}, "", err
	}
	return out, clientSecret, nil
}

// RevokeRegistrationToken forgets a client's RFC 7592 registration access
// token, so the client can no longer read, update or delete itself
// (admins still can).
func (s *Service) RevokeRegistrationToken(ctx context.Context, actor, id string) (storage.Client, error) {
	var out storage.Client
	err := s.inTx(ctx, func(ctx context.Context) error {
		c, err := s.GetClient(ctx, id)
		if err != nil {
			return err
		}
		c.RegistrationTokenHash = ""
		c.UpdatedAt = s.clock()
		if err := s.store.UpdateClient(ctx, c); err != nil {
			return fmt.Errorf("update client: %w", mapNotFound(err, "client", id))
		}
		out = c
		return s.audit(ctx, actor, "client.registration_token_revoked", id, "", nil)
	})
	return out, err
}

// DeleteClient revokes every grant of a client (with its tokens, and its
// grantless client_credentials tokens through the client's revocation
// instant), forgets every user's consent to it and deletes it, all in one
// transaction. The consents go too so the account page does not list an
// app that no longer exists and a later client re-using the id does not
// inherit consent nobody gave it.
func (s *Service) DeleteClient(ctx context.Context, actor, id string) error {
	return s.inTx(ctx, func(ctx context.Context) error {
		if _, err := s.GetClient(ctx, id); err != nil {
			return err
		}
		revoked, err := s.revokeGrants(ctx, storage.GrantFilter{ClientID: id}, "client deleted")
		if err != nil {
			return err
		}
		forgotten, err := s.store.DeleteConsentsByClient(ctx, id)
		if err != nil {
			return fmt.Errorf("delete consents of client: %w", err)
		}
		if err := s.store.DeleteClient(ctx, id); err != nil {
			return fmt.Errorf("delete client: %w", mapNotFound(err, "client", id))
		}
		return s.audit(ctx, actor, "client.deleted", id, "", map[string]string{
			"grants_revoked": fmt.Sprint(revoked), "consents_deleted": fmt.Sprint(forgotten),
		})
	})
}

// RotateClientSecret gives a confidential client a new secret, returned in
// clear once. With keepOld the previous secret stays valid (zero-downtime
// rotation: deploy the new secret, then rotate again without keepOld). The
// swap is compare-and-swap, so of two concurrent rotations one fails with
// an error wrapping storage.ErrConflict instead of silently losing.
func (s *Service) RotateClientSecret(ctx context.Context, actor, id string, keepOld bool) (storage.Client, string, error) {
	var (
		out          storage.Client
		clientSecret string
	)
	err := s.inTx(ctx, func(ctx context.Context) error {
		c, err := s.GetClient(ctx, id)
		if err != nil {
			return err
		}
		if c.Public {
			return invalid("client_id", id, "is a public client and has no secret")
		}
		if m := c.TokenEndpointAuthMethod; m == "private_key_jwt" || m == "none" {
			return invalid("client_id", id, "authenticates with "+m+" and has no secret")
		}
		if clientSecret, err = secret.RandomToken(32); err != nil {
			return err
		}
		newHash := s.ring.HashClientSecret(clientSecret)
		if err := s.store.RotateClientSecret(ctx, id, c.SecretHash, newHash, keepOld, s.clock()); err != nil {
			if errors.Is(err, storage.ErrConflict) {
				return conflictf("client %q: secret rotated concurrently, try again", id)
			}
			return fmt.Errorf("rotate secret: %w", mapNotFound(err, "client", id))
		}
		if out, err = s.store.GetClient(ctx, id); err != nil {
			return fmt.Errorf("reload client: %w", err)
		}
		return s.audit(ctx, actor, "client.secret_rotated", id, "", map[string]string{"kept_old": fmt.Sprint(keepOld)})
	})
	if err != nil {
		return storage.Client{}, "", err
	}
	return out, clientSecret, nil
}

// VerifyClientSecret reports whether clientSecret is the client's current
// secret or one still accepted after a rotation. Every candidate is
// checked so timing does not say which one matched.
func (s *Service) VerifyClientSecret(c storage.Client, clientSecret string) bool {
	if c.Public || c.SecretHash == "" {
		return false
	}
	ok := s.ring.VerifyClientSecret(clientSecret, c.SecretHash)
	for _, h := range c.RotatedSecretHashes {
		if s.ring.VerifyClientSecret(clientSecret, h) {
			ok = true
		}
	}
	return ok
}

// newClientID returns 22 random base64url characters (128 bits) starting
// with a letter or digit, so an id is never mistaken for a CLI flag.
func newClientID() (string, error) {
	for {
		id, err := secret.RandomToken(16)
		if err != nil {
			return "", err
		}
		if c := id[0]; c != '-' && c != '_' {
			return id, nil
		}
	}
}

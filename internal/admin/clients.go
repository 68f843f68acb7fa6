package admin

import (
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
)

// clientInput is the body of POST, PUT and PATCH /admin/clients: the field
// names of app.ClientView (the CLI's --json) plus the metadata the view
// does not show. Pointers tell "absent" from "empty" for PATCH.
type clientInput struct {
	ClientID                 *string          `json:"client_id"`
	ClientName               *string          `json:"client_name"`
	Description              *string          `json:"description"`
	RedirectURIs             *[]string        `json:"redirect_uris"`
	PostLogoutRedirectURIs   *[]string        `json:"post_logout_redirect_uris"`
	GrantTypes               *[]string        `json:"grant_types"`
	ResponseTypes            *[]string        `json:"response_types"`
	Scope                    *string          `json:"scope"`
	Audience                 *[]string        `json:"audience"`
	TokenEndpointAuthMethod  *string          `json:"token_endpoint_auth_method"`
	Public                   *bool            `json:"public"`
	SkipConsent              *bool            `json:"skip_consent"`
	RequireMFA               *bool            `json:"require_mfa"`
	AccessTokenFormat        *string          `json:"access_token_format"`
	AllowedCORSOrigins       *[]string        `json:"allowed_cors_origins"`
	LogoURI                  *string          `json:"logo_uri"`
	ClientURI                *string          `json:"client_uri"`
	PolicyURI                *string          `json:"policy_uri"`
	TOSURI                   *string          `json:"tos_uri"`
	Contacts                 *[]string        `json:"contacts"`
	JWKS                     *json.RawMessage `json:"jwks"`
	JWKSURI                  *string          `json:"jwks_uri"`
	IDTokenSignedResponseAlg *string          `json:"id_token_signed_response_alg"`
	// RFC 9126 §6 client metadata.
	RequirePAR *bool `json:"require_pushed_authorization_requests"`
	// RFC 8693: the audiences the client may obtain by token exchange.
	TokenExchangeAudiences *[]string `json:"token_exchange_audiences"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func list(p *[]string) []string {
	if p == nil {
		return nil
	}
	return *p
}

// jwksString turns the jwks object into the stored JSON text ("" for
// absent or null).
func jwksString(raw *json.RawMessage) string {
	if raw == nil || string(*raw) == "null" {
		return ""
	}
	return string(*raw)
}

func (in clientInput) spec() app.ClientSpec {
	return app.ClientSpec{
		ID: str(in.ClientID), Name: str(in.ClientName), Description: str(in.Description),
		RedirectURIs: list(in.RedirectURIs), PostLogoutRedirectURIs: list(in.PostLogoutRedirectURIs),
		GrantTypes: list(in.GrantTypes), ResponseTypes: list(in.ResponseTypes),
		Scopes: app.SplitScope(str(in.Scope)), Audience: list(in.Audience),
		TokenEndpointAuthMethod: str(in.TokenEndpointAuthMethod),
		Public:                  in.Public != nil && *in.Public, SkipConsent: in.SkipConsent != nil && *in.SkipConsent,
		RequireMFA:        in.RequireMFA != nil && *in.RequireMFA,
		AccessTokenFormat: str(in.AccessTokenFormat), AllowedCORSOrigins: list(in.AllowedCORSOrigins),
		LogoURI: str(in.LogoURI), ClientURI: str(in.ClientURI), PolicyURI: str(in.PolicyURI), TermsURI: str(in.TOSURI),
		Contacts: list(in.Contacts), JWKS: jwksString(in.JWKS), JWKSURI: str(in.JWKSURI),
		IDTokenSignedResponseAlg:           str(in.IDTokenSignedResponseAlg),
		RequirePushedAuthorizationRequests: in.RequirePAR != nil && *in.RequirePAR,
		TokenExchangeAudiences:             list(in.TokenExchangeAudiences),
	}
}

func (in clientInput) patch() (app.ClientPatch, error) {
	if in.JWKSURI != nil && *in.JWKSURI != "" {
		// Same rule and message as app.ValidateClient.
		return app.ClientPatch{}, &app.ValidationError{Field: "jwks_uri", Value: *in.JWKSURI,
			Reason: "not supported: register the public keys inline with jwks"}
	}
	p := app.ClientPatch{
		Name: in.ClientName, Description: in.Description, RedirectURIs: in.RedirectURIs,
		PostLogoutRedirectURIs: in.PostLogoutRedirectURIs, GrantTypes: in.GrantTypes, ResponseTypes: in.ResponseTypes,
		Audience: in.Audience, TokenEndpointAuthMethod: in.TokenEndpointAuthMethod, Public: in.Public,
		SkipConsent: in.SkipConsent, RequireMFA: in.RequireMFA, AccessTokenFormat: in.AccessTokenFormat, AllowedCORSOrigins: in.AllowedCORSOrigins,
		LogoURI: in.LogoURI, ClientURI: in.ClientURI, PolicyURI: in.PolicyURI, TermsURI: in.TOSURI,
		Contacts: in.Contacts, IDTokenSignedResponseAlg: in.IDTokenSignedResponseAlg,
		RequirePushedAuthorizationRequests: in.RequirePAR,
		TokenExchangeAudiences:             in.TokenExchangeAudiences,
	}
	if in.Scope != nil {
		s := app.SplitScope(*in.Scope)
		p.Scopes = &s
	}
	if in.JWKS != nil {
		j := jwksString(in.JWKS)
		p.JWKS = &j
	}
	return p, nil
}

func (h *Handler) listClients(c *gin.Context) {
	o, err := h.listOptions(c)
	if err != nil {
		h.writeError(c, err)
		return
	}
	cs, next, err := h.svc.ListClients(c.Request.Context(), o)
	if err != nil {
		h.writeError(c, err)
		return
	}
	items := mapSlice(cs, func(cl storage.Client) app.ClientView { return app.NewClientView(cl, "") })
	writeJSON(c, http.StatusOK, page[app.ClientView]{Items: items, NextCursor: h.cursor.wrap(next)})
}

func (h *Handler) createClient(c *gin.Context) {
	var in clientInput
	if err := decodeJSON(c, &in, true, "invalid_request"); err != nil {
		h.writeError(c, err)
		return
	}
	cl, sec, err := h.svc.CreateClient(c.Request.Context(), actor(c), in.spec())
	if err != nil {
		h.writeError(c, err)
		return
	}
	c.Header("Location", "/admin/clients/"+cl.ID)
	writeJSON(c, http.StatusCreated, app.NewClientView(cl, sec))
}

func (h *Handler) getClient(c *gin.Context) {
	cl, err := h.svc.GetClient(c.Request.Context(), c.Param("id"))
	if err != nil {
		h.writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, app.NewClientView(cl, ""))
}

// replaceClient is PUT: every metadata field is replaced (absent = empty
// or default); the id, secret and creation time are kept.
func (h *Handler) replaceClient(c *gin.Context) {
	var in clientInput
	if err := decodeJSON(c, &in, true, "invalid_request"); err != nil {
		h.writeError(c, err)
		return
	}
	id := c.Param("id")
	if in.ClientID != nil && *in.ClientID != id {
		h.writeError(c, badRequest("client_id: must match the client in the URL"))
		return
	}
	cl, sec, err := h.svc.ReplaceClient(c.Request.Context(), actor(c), id, in.spec())
	if err != nil {
		h.writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, app.NewClientView(cl, sec))
}

// patchClient is PATCH: only the fields present change.
func (h *Handler) patchClient(c *gin.Context) {
	var in clientInput
	if err := decodeJSON(c, &in, true, "invalid_request"); err != nil {
		h.writeError(c, err)
		return
	}
	id := c.Param("id")
	if in.ClientID != nil && *in.ClientID != id {
		h.writeError(c, badRequest("client_id: cannot be changed"))
		return
	}
	p, err := in.patch()
	if err != nil {
		h.writeError(c, err)
		return
	}
	cl, sec, err := h.svc.UpdateClient(c.Request.Context(), actor(c), id, p)
	if err != nil {
		h.writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, app.NewClientView(cl, sec))
}

// deleteClient revokes every grant of the client (with its tokens) and
// deletes it.
func (h *Handler) deleteClient(c *gin.Context) {
	if err := h.svc.DeleteClient(c.Request.Context(), actor(c), c.Param("id")); err != nil {
		h.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// rotateClientSecret answers the new secret once. {"keep_old": true} keeps
// the previous secret valid for a zero-downtime roll-over.
func (h *Handler) rotateClientSecret(c *gin.Context) {
	var in struct {
		KeepOld bool `json:"keep_old"`
	}
	if c.Request.ContentLength != 0 {
		if err := decodeJSON(c, &in, true, "invalid_request"); err != nil {
			h.writeError(c, err)
			return
		}
	}
	cl, sec, err := h.svc.RotateClientSecret(c.Request.Context(), actor(c), c.Param("id"), in.KeepOld)
	if err != nil {
		h.writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, app.NewClientView(cl, sec))
}

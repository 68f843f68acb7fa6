package oauth

import "slices"

// Metadata is what this package serves, as authorization server metadata
// (RFC 8414 §2, OpenID Connect Discovery 1.0 §3): its endpoints and the
// methods, grants and algorithms they accept. oidc publishes it in the
// discovery documents together with the front channel's entries; the
// JSON names are the registered ones.
type Metadata struct {
	Issuer                             string `json:"issuer"`
	TokenEndpoint                      string `json:"token_endpoint"`
	IntrospectionEndpoint              string `json:"introspection_endpoint"`
	RevocationEndpoint                 string `json:"revocation_endpoint"`
	DeviceAuthorizationEndpoint        string `json:"device_authorization_endpoint"`
	PushedAuthorizationRequestEndpoint string `json:"pushed_authorization_request_endpoint"`
	// RequirePushedAuthorizationRequests is RFC 9126 §5's server-wide
	// switch (Config.RequirePushedAuthorizationRequests).
	RequirePushedAuthorizationRequests bool `json:"require_pushed_authorization_requests"`

	GrantTypesSupported    []string `json:"grant_types_supported"`
	ResponseTypesSupported []string `json:"response_types_supported"`
	// form_post (OAuth 2.0 Form Post Response Mode) is answered under the
	// strict CSP, without inline script (formpost.go, web/ui). fragment is
	// for the implicit and hybrid flows, which are not offered.
	ResponseModesSupported []string `json:"response_modes_supported"`
	// RFC 9207: the authorization response carries iss (authorize.go).
	AuthorizationResponseISSParameterSupported bool `json:"authorization_response_iss_parameter_supported"`
	// RFC 7636: S256 only (RFC 9700 §2.1.1).
	CodeChallengeMethodsSupported []string `json:"code_challenge_methods_supported"`

	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	// fosite verifies client assertions with RSA, RSA-PSS and ECDSA keys.
	TokenEndpointAuthSigningAlgValuesSupported         []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	IntrospectionEndpointAuthMethodsSupported          []string `json:"introspection_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthSigningAlgValuesSupported []string `json:"introspection_endpoint_auth_signing_alg_values_supported"`
	RevocationEndpointAuthMethodsSupported             []string `json:"revocation_endpoint_auth_methods_supported"`
	// RFC 8414 §2: REQUIRED wherever private_key_jwt is offered.
	RevocationEndpointAuthSigningAlgValuesSupported []string `json:"revocation_endpoint_auth_signing_alg_values_supported"`

	// IDTokenSigningAlgValuesSupported are the algorithms with an active
	// key: a client may pick any as id_token_signed_response_alg.
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
	ScopesSupported                  []string `json:"scopes_supported"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	// Request objects (OIDC Core §6) and the claims parameter (§5.5) are
	// not supported.
	RequestParameterSupported    bool `json:"request_parameter_supported"`
	RequestURIParameterSupported bool `json:"request_uri_parameter_supported"`
	ClaimsParameterSupported     bool `json:"claims_parameter_supported"`
	// RFC 9449 §5.1.
	DPoPSigningAlgValuesSupported []string `json:"dpop_signing_alg_values_supported"`
}

// clientAuthMethods are the client authentication methods of the token
// and revocation endpoints; introspection takes the first three (a public
// client may not introspect).
var clientAuthMethods = []string{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"}

// assertionAlgs are the JWS algorithms of private_key_jwt assertions.
var assertionAlgs = []string{"RS256", "PS256", "ES256"}

// Metadata returns the metadata of the endpoints Mount registers. Every
// call returns fresh slices: the caller may keep or change them.
func (h *Handler) Metadata() Metadata {
	iss := h.cfg.Issuer
	return Metadata{
		Issuer:                             iss,
		TokenEndpoint:                      iss + PathToken,
		IntrospectionEndpoint:              iss + PathIntrospect,
		RevocationEndpoint:                 iss + PathRevoke,
		DeviceAuthorizationEndpoint:        iss + PathDeviceAuthorization,
		PushedAuthorizationRequestEndpoint: iss + PathPAR,
		RequirePushedAuthorizationRequests: h.cfg.RequirePushedAuthorizationRequests,

		GrantTypesSupported:                        slices.Clone(supportedGrantTypes),
		ResponseTypesSupported:                     []string{"code"},
		ResponseModesSupported:                     []string{"query", "form_post"},
		AuthorizationResponseISSParameterSupported: true,
		CodeChallengeMethodsSupported:              []string{"S256"},

		TokenEndpointAuthMethodsSupported:                  slices.Clone(clientAuthMethods),
		TokenEndpointAuthSigningAlgValuesSupported:         slices.Clone(assertionAlgs),
		IntrospectionEndpointAuthMethodsSupported:          slices.Clone(clientAuthMethods[:3]),
		IntrospectionEndpointAuthSigningAlgValuesSupported: slices.Clone(assertionAlgs),
		RevocationEndpointAuthMethodsSupported:             slices.Clone(clientAuthMethods),
		RevocationEndpointAuthSigningAlgValuesSupported:    slices.Clone(assertionAlgs),

		IDTokenSigningAlgValuesSupported: slices.Clone(h.idAlgs),
		ScopesSupported:                  []string{"openid", "profile", "email", "groups", "offline_access"},
		SubjectTypesSupported:            []string{"public"},
		DPoPSigningAlgValuesSupported:    h.dpop.AlgorithmNames(),
	}
}

package oauth

import (
	"slices"
	"testing"

	"github.com/sesameauth/sesame/internal/keys"
)

// TestMetadata checks what oauth offers for the discovery documents (oidc
// serves them; oidc/testdata/discovery.golden pins the whole document).
func TestMetadata(t *testing.T) {
	e := newEnv(t, backends[0], func(_ *Config, o *keys.Options) { o.Algorithms = []string{keys.ES256, keys.EdDSA} })
	md := e.h.Metadata()
	iss := e.srv.URL
	for _, c := range []struct{ name, got, want string }{
		{"issuer", md.Issuer, iss},
		{"token_endpoint", md.TokenEndpoint, iss + PathToken},
		{"introspection_endpoint", md.IntrospectionEndpoint, iss + PathIntrospect},
		{"revocation_endpoint", md.RevocationEndpoint, iss + PathRevoke},
		{"device_authorization_endpoint", md.DeviceAuthorizationEndpoint, iss + PathDeviceAuthorization},
		{"pushed_authorization_request_endpoint", md.PushedAuthorizationRequestEndpoint, iss + PathPAR},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	for _, c := range []struct {
		name      string
		got, want []string
	}{
		{"grant_types_supported", md.GrantTypesSupported, supportedGrantTypes},
		{"response_types_supported", md.ResponseTypesSupported, []string{"code"}},
		// Exactly the response modes the authorization endpoint answers
		// (fragment belongs to the implicit flow, which is not offered).
		{"response_modes_supported", md.ResponseModesSupported, []string{"query", "form_post"}},
		// No plain PKCE.
		{"code_challenge_methods_supported", md.CodeChallengeMethodsSupported, []string{"S256"}},
		{"token_endpoint_auth_methods_supported", md.TokenEndpointAuthMethodsSupported,
			[]string{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"}},
		// A public client may not introspect.
		{"introspection_endpoint_auth_methods_supported", md.IntrospectionEndpointAuthMethodsSupported,
			[]string{"client_secret_basic", "client_secret_post", "private_key_jwt"}},
		// Only algorithms with an active key.
		{"id_token_signing_alg_values_supported", md.IDTokenSigningAlgValuesSupported, []string{keys.ES256, keys.EdDSA}},
		{"subject_types_supported", md.SubjectTypesSupported, []string{"public"}},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if !md.AuthorizationResponseISSParameterSupported || md.RequirePushedAuthorizationRequests ||
		md.RequestParameterSupported || md.RequestURIParameterSupported || md.ClaimsParameterSupported {
		t.Errorf("flags: %+v", md)
	}
	if !slices.Contains(md.ScopesSupported, "offline_access") {
		t.Errorf("scopes_supported = %v lacks offline_access", md.ScopesSupported)
	}

	// The caller owns what it gets: changing it changes nothing here.
	md.GrantTypesSupported[0] = "changed"
	md.TokenEndpointAuthMethodsSupported[0] = "changed"
	if again := e.h.Metadata(); again.GrantTypesSupported[0] == "changed" || again.IntrospectionEndpointAuthMethodsSupported[0] == "changed" ||
		supportedGrantTypes[0] == "changed" {
		t.Error("Metadata shares its slices with the handler")
	}
}

func TestMetadataRequirePAR(t *testing.T) {
	e := newEnv(t, backends[0], withConfig(func(c *Config) { c.RequirePushedAuthorizationRequests = true }))
	if !e.h.Metadata().RequirePushedAuthorizationRequests {
		t.Fatal("require_pushed_authorization_requests is false with Config.RequirePushedAuthorizationRequests")
	}
}

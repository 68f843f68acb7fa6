package oauth

import (
	"strings"

	"github.com/ory/fosite"
)

// refreshScopeError enforces RFC 6749 §6 on a refresh request: "The
// requested scope MUST NOT include any scope not originally granted by the
// resource owner". fosite v0.49 ignores the scope parameter of a refresh
// request and re-grants the original scopes, so an escalation attempt
// silently succeeds without the extra scope; it is refused here with
// invalid_scope (RFC 6749 §5.2) so the client learns it asked for too much.
// It runs after fosite validated the request (the client is authenticated
// and owns the token) and before anything is rotated.
func refreshScopeError(ar fosite.AccessRequester, requested string) error {
	if !ar.GetGrantTypes().ExactOne("refresh_token") {
		return nil
	}
	granted := ar.GetGrantedScopes()
	for _, scope := range strings.Fields(requested) {
		if !granted.Has(scope) {
			return fosite.ErrInvalidScope.WithHintf("The scope '%s' was not granted to this refresh token.", scope)
		}
	}
	return nil
}

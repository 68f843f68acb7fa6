package oauth

import (
	"context"
	"slices"
	"strings"

	"github.com/ory/fosite"
)

// narrowRefreshScope applies the scope parameter of a refresh request (RFC
// 6749 §6). fosite v0.49 ignores it and re-grants the original scopes:
//   - a scope not originally granted is refused with invalid_scope (§5.2)
//     so the client learns it asked for too much;
//   - a narrower scope gives an access token with exactly that scope, while
//     the new refresh token keeps the original grant (st.refreshGrant, read
//     by CreateRefreshTokenSession), so the next refresh without scope gets
//     the original grant back ("if omitted is treated as equal to the scope
//     originally granted by the resource owner").
//
// It runs after fosite validated the request (the client is authenticated
// and owns the token) and before anything is rotated or issued.
func narrowRefreshScope(ar fosite.AccessRequester, st *reqState, requested string) error {
	if !ar.GetGrantTypes().ExactOne("refresh_token") {
		return nil
	}
	want := fosite.RemoveEmpty(strings.Fields(requested))
	if len(want) == 0 {
		return nil
	}
	granted := ar.GetGrantedScopes()
	for _, scope := range want {
		if !granted.Has(scope) {
			return fosite.ErrInvalidScope.WithHintf("The scope '%s' was not granted to this refresh token.", scope)
		}
	}
	req, ok := ar.(*fosite.AccessRequest)
	if !ok {
		return fosite.ErrServerError.WithDebugf("access request is %T", ar)
	}
	st.mu.Lock()
	st.refreshGrant = slices.Clone(granted)
	st.mu.Unlock()
	var narrowed fosite.Arguments
	for _, scope := range granted { // keep the grant's order, drop duplicates
		if slices.Contains(want, scope) && !narrowed.Has(scope) {
			narrowed = append(narrowed, scope)
		}
	}
	req.GrantedScope = narrowed
	return nil
}

// refreshGrantOf is r with the original grant of a narrowed refresh request
// (see narrowRefreshScope): what the new refresh token must carry.
func refreshGrantOf(ctx context.Context, r fosite.Requester) fosite.Requester {
	st := stateOf(ctx)
	st.mu.Lock()
	grant := st.refreshGrant
	st.mu.Unlock()
	rq, ok := r.(*fosite.Request)
	if grant == nil || !ok {
		return r
	}
	c := *rq
	c.GrantedScope = grant
	return &c
}

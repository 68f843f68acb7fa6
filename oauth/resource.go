package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/ory/fosite"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
)

// Resource indicators (RFC 8707). fosite knows only `audience`; Sesame maps
// `resource` onto it. The rule for which values a client may name is
// app.ResolveTargets (registered API, among the client's audiences).
//
//   - At the authorization endpoint the resources become the requested
//     audience of the grant (oidc grants it after consent).
//   - At the token endpoint `resource` narrows the access token of this
//     response to values the grant already holds (§2.2): the access token's
//     aud, in the JWT and in introspection, is only those, while the refresh
//     token keeps the whole grant, so a later refresh can narrow to another
//     of the granted resources.
//   - client_credentials and password have no earlier grant: their
//     resources become the token's audience directly.

// ParamResource is the RFC 8707 request parameter.
const ParamResource = "resource"

// invalidTarget is RFC 8707 §2's error.
func invalidTarget(reason string) *fosite.RFC6749Error {
	return &fosite.RFC6749Error{
		ErrorField:       "invalid_target",
		DescriptionField: "The requested resource is invalid, unknown, or not allowed for this client.",
		HintField:        reason,
		CodeField:        http.StatusBadRequest,
	}
}

// targetError turns app.ResolveTargets' refusal into invalid_target and a
// storage failure into temporarily_unavailable.
func targetError(err error) error {
	var te *app.TargetError
	if errors.As(err, &te) {
		return invalidTarget(te.Reason)
	}
	return fosite.ErrTemporarilyUnavailable.WithWrap(err).WithDebug(err.Error())
}

func clientAudience(c fosite.Client) []string {
	if cl, ok := c.(*Client); ok {
		return cl.c.Audience
	}
	return nil
}

// AuthorizeResources applies `resource` at the authorization endpoint
// (RFC 8707 §2.1): each value must pass app.ResolveTargets, and the
// resources replace the requested audience. It returns the registered APIs
// (nil when no resource was asked for), for the consent page. `audience`
// and `resource` together are refused: which one would win is not obvious.
func (h *Handler) AuthorizeResources(ctx context.Context, a *AuthorizeRequest) ([]storage.Resource, error) {
	ar := a.ar
	uris := ar.GetRequestForm()[ParamResource]
	if len(uris) == 0 {
		return nil, nil
	}
	if ar.GetRequestForm().Get("audience") != "" {
		return nil, fosite.ErrInvalidRequest.WithHint("Send either resource or audience, not both.")
	}
	rs, err := app.ResolveTargets(ctx, h.store, clientAudience(ar.GetClient()), uris)
	if err != nil {
		return nil, targetError(err)
	}
	req, ok := ar.(*fosite.AuthorizeRequest)
	if !ok {
		return nil, fosite.ErrServerError.WithDebugf("authorize request is %T", ar)
	}
	req.SetRequestedAudience(resourceURIs(rs))
	return rs, nil
}

func resourceURIs(rs []storage.Resource) fosite.Arguments {
	out := make(fosite.Arguments, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.URI)
	}
	return out
}

// tokenResources applies `resource` at the token endpoint (RFC 8707 §2.2),
// after fosite validated the request and before it issues: it sets
// s.AccessAudience (the aud of this response's access token only).
func (h *Handler) tokenResources(ctx context.Context, ar fosite.AccessRequester, s *Session) error {
	// A session read back from a refresh token carries the narrowing of
	// the response that issued it; each response decides anew.
	s.AccessAudience = nil
	uris := ar.GetRequestForm()[ParamResource]
	if len(uris) == 0 || ar.GetGrantTypes().ExactOne(app.TokenExchangeGrantType) {
		return nil // token exchange has its own audience policy (exchange.go)
	}
	if ar.GetRequestForm().Get("audience") != "" {
		return fosite.ErrInvalidRequest.WithHint("Send either resource or audience, not both.")
	}
	rs, err := app.ResolveTargets(ctx, h.store, clientAudience(ar.GetClient()), uris)
	if err != nil {
		return targetError(err)
	}
	want := resourceURIs(rs)
	gt := ar.GetGrantTypes()
	if gt.ExactOne("client_credentials") || gt.ExactOne("password") {
		// No earlier grant to narrow: the resources are the audience.
		req, ok := ar.(*fosite.AccessRequest)
		if !ok {
			return fosite.ErrServerError.WithDebugf("access request is %T", ar)
		}
		req.SetRequestedAudience(want)
		return nil
	}
	granted := ar.GetGrantedAudience()
	if gt.ExactOne("authorization_code") {
		// fosite copies the code's granted audience onto the request only
		// when it issues; until then it holds the code's requested
		// audience, which the authorization endpoint granted whole
		// (oidc audienceFor).
		granted = ar.GetRequestedAudience()
	}
	for _, u := range want {
		if !slices.Contains(granted, u) {
			return invalidTarget(fmt.Sprintf("The grant does not include the resource %q.", u))
		}
	}
	s.AccessAudience = want
	return nil
}

// audienceView is a request whose granted audience is the access token's
// own (Session.AccessAudience): what the JWT strategy signs and the opaque
// token's row records, while the request (and its refresh token) keeps the
// whole grant.
type audienceView struct {
	fosite.Requester
	aud fosite.Arguments
}

func (v audienceView) GetGrantedAudience() fosite.Arguments { return v.aud }

// forAccessToken returns r as the access token of this response sees it.
func forAccessToken(r fosite.Requester) fosite.Requester {
	if s, ok := r.GetSession().(*Session); ok && len(s.AccessAudience) > 0 {
		return audienceView{Requester: r, aud: s.AccessAudience}
	}
	return r
}

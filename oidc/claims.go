package oidc

import (
	"slices"
	"time"

	"github.com/ory/fosite"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/session"
	"github.com/sesameauth/sesame/oauth"
	"github.com/sesameauth/sesame/storage"
)

// userClaims maps the standard scopes to claims of the user record (OIDC
// Core §5.4). sub is always present.
//
// groups are the user's groups, given only with the groups scope (nil
// otherwise); an empty list is sent as [] so clients see the claim's type.
func userClaims(u storage.User, scopes []string, groups []string) map[string]any {
	c := map[string]any{"sub": u.ID}
	if slices.Contains(scopes, oauth.ScopeGroups) {
		if groups == nil {
			groups = []string{}
		}
		c[oauth.ClaimGroups] = groups
	}
	if slices.Contains(scopes, "profile") {
		c["preferred_username"] = u.Username
		if u.Name != "" {
			c["name"] = u.Name
		}
		if !u.UpdatedAt.IsZero() {
			c["updated_at"] = u.UpdatedAt.Unix()
		}
	}
	if slices.Contains(scopes, "email") && u.Email != "" {
		c["email"] = u.Email
		c["email_verified"] = u.EmailVerified
	}
	return c
}

// newSession builds the fosite session of an authorization: who signed
// in, when, how, in which login session, and the ID-token claims the
// granted scopes allow. requestedAt is when the authorization request was
// first received; fosite compares it with auth_time for prompt=login and
// max_age, so both are cut to whole seconds, as they appear in tokens.
func (h *Handler) newSession(u storage.User, ls storage.LoginSession, clientID string, granted, groups []string, requestedAt time.Time) *oauth.Session {
	s := h.oauth.NewSession(u.ID, u.Username, clientID)
	s.LoginSessionID = ls.ID
	cl := s.IDTokenClaims()
	cl.Subject = u.ID
	cl.AuthTime = ls.AuthTime.UTC().Truncate(time.Second)
	cl.RequestedAt = requestedAt.UTC().Truncate(time.Second)
	if len(ls.AMR) > 0 {
		cl.AuthenticationMethodsReferences = slices.Clone(ls.AMR)
		// acr and amr of the sign-in also go into JWT access tokens and
		// introspection (SPEC part two), so an API can demand two factors.
		cl.AuthenticationContextClassReference = app.ACRFor(ls.AMR)
		s.SetAuthentication(ls.AMR, cl.AuthenticationContextClassReference)
	}
	if cl.Extra == nil {
		cl.Extra = map[string]any{}
	}
	cl.Extra["sid"] = session.SID(ls)
	cl.Extra["azp"] = clientID
	for k, v := range userClaims(u, granted, groups) {
		if k != "sub" {
			cl.Extra[k] = v
		}
	}
	if slices.Contains(granted, oauth.ScopeGroups) {
		s.SetGroups(groups) // the JWT access token's claim too
	}
	return s
}

// audienceFor implements SPEC's aud rule: the audiences requested (fosite
// has checked each is allowed for the client), else the client's
// registered audiences, else the client id.
func audienceFor(ar fosite.AuthorizeRequester) []string {
	if req := ar.GetRequestedAudience(); len(req) > 0 {
		return req
	}
	if c, ok := ar.GetClient().(*oauth.Client); ok && len(c.Record().Audience) > 0 {
		return c.Record().Audience
	}
	return []string{ar.GetClient().GetID()}
}

package oidc

import (
	"slices"
	"time"

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

// grant says who authorized the request and how: what the code, its
// tokens and the ID token carry. requestedAt is when the authorization
// request was first received (fosite compares it with auth_time for
// prompt=login and max_age).
func (h *Handler) grant(u storage.User, ls storage.LoginSession, clientID string, granted, groups []string, requestedAt time.Time) oauth.AuthorizeGrant {
	g := oauth.AuthorizeGrant{
		UserID: u.ID, Username: u.Username, LoginSessionID: ls.ID,
		AuthTime: ls.AuthTime, RequestedAt: requestedAt,
		Claims: userClaims(u, granted, groups), Groups: groups,
	}
	if len(ls.AMR) > 0 {
		g.AMR, g.ACR = ls.AMR, app.ACRFor(ls.AMR)
	}
	g.Claims["sid"] = session.SID(ls)
	g.Claims["azp"] = clientID
	return g
}

// audienceFor implements SPEC's aud rule: the audiences requested (fosite
// has checked each is allowed for the client), else the client's
// registered audiences, else the client id.
func audienceFor(a *authzRequest) []string {
	if req := a.ar.RequestedAudience(); len(req) > 0 {
		return req
	}
	if len(a.client.Audience) > 0 && !a.client.FromMetadataDocument() {
		return a.client.Audience
	}
	return []string{a.client.ID}
}

package oauth

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// ScopeGroups grants the groups claim (SPEC part two "Coming from Django"):
// the names of the user's groups, in ID tokens, JWT access tokens,
// introspection and userinfo.
const ScopeGroups = "groups"

// ClaimGroups is the claim and introspection member that carries them.
const ClaimGroups = "groups"

// userGroups returns the names of userID's groups, ordered by lower-cased
// name: its own groups and those its linked upstream accounts
// (storage.Identity) reported at their last sign-in, once each (compared
// case-insensitively, as group names are; the own group's spelling wins). An unknown user has
// none. It is only read when the groups scope was granted.
func (h *Handler) userGroups(ctx context.Context, userID string) ([]string, error) {
	gs, err := h.store.ListUserGroups(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list groups of %q: %w", userID, err)
	}
	names := make([]string, 0, len(gs))
	seen := map[string]bool{}
	for _, g := range gs {
		names = append(names, g.Name) // the store orders them by lower(name)
		seen[strings.ToLower(g.Name)] = true
	}
	ids, err := h.store.ListUserIdentities(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list identities of %q: %w", userID, err)
	}
	if len(ids) == 0 {
		return names, nil
	}
	for _, id := range ids {
		for _, g := range id.Groups {
			if k := strings.ToLower(g); !seen[k] {
				seen[k] = true
				names = append(names, g)
			}
		}
	}
	slices.SortStableFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return names, nil
}

// GroupsFor returns userID's groups when granted includes the groups
// scope, else nil: what the front channel (package oidc) puts into ID
// tokens and userinfo.
func (h *Handler) GroupsFor(ctx context.Context, userID string, granted []string) ([]string, error) {
	if !slices.Contains(granted, ScopeGroups) {
		return nil, nil
	}
	return h.userGroups(ctx, userID)
}

// SetGroups puts the groups claim into the access token (Extra) and the ID
// token of s. The groups are those of the moment the token is issued; a
// refresh takes them again (exchange), userinfo reads them live.
func (s *Session) SetGroups(groups []string) {
	if groups == nil {
		groups = []string{}
	}
	if s.Extra == nil {
		s.Extra = map[string]any{}
	}
	s.Extra[ClaimGroups] = slices.Clone(groups)
	cl := s.IDTokenClaims()
	if cl.Extra == nil {
		cl.Extra = map[string]any{}
	}
	cl.Extra[ClaimGroups] = slices.Clone(groups)
}

// Groups returns the groups claim of s (nil when the token has none). A
// session decoded from JSON or rebuilt from a JWT holds []any.
func (s *Session) Groups() []string {
	switch v := s.Extra[ClaimGroups].(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if str, ok := x.(string); ok {
				out = append(out, str)
			}
		}
		return out
	}
	return nil
}

// grantGroups sets the groups claim of a user's token request when the
// groups scope was granted.
func (h *Handler) grantGroups(ctx context.Context, s *Session, granted []string) error {
	if !slices.Contains(granted, ScopeGroups) || s.GetSubject() == "" || s.GetSubject() == s.ClientID {
		return nil
	}
	groups, err := h.userGroups(ctx, s.GetSubject())
	if err != nil {
		return err
	}
	s.SetGroups(groups)
	return nil
}

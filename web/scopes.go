package web

import (
	"context"
	"errors"
	"fmt"

	"github.com/sesameauth/sesame/storage"
)

// scopeInfo explains a scope in plain words on the consent and account
// pages.
type scopeInfo struct {
	Name        string
	Title       string
	Description string
}

var knownScopes = map[string]scopeInfo{
	"openid":         {Title: "Know who you are", Description: "Confirm your identity with your Sesame account id."},
	"profile":        {Title: "See your profile", Description: "Your name, username and when your profile was last updated."},
	"email":          {Title: "See your email address", Description: "Your email address and whether it has been verified."},
	"groups":         {Title: "See your groups", Description: "The names of the groups you belong to."},
	"offline_access": {Title: "Stay connected", Description: "Keep access when you are not using the app, until you remove it."},
}

// scopeText describes scopes: the standard ones in fixed words, custom
// ones (api:read) by the operator's SESAME_SCOPE_DESCRIPTIONS, else by a
// generic line.
type scopeText map[string]string

func (st scopeText) describe(s string) scopeInfo {
	if i, ok := knownScopes[s]; ok {
		i.Name = s
		return i
	}
	if d, ok := st[s]; ok {
		return scopeInfo{Name: s, Title: d, Description: "Permission “" + s + "”, as described by this service."}
	}
	return scopeInfo{Name: s, Title: "Use “" + s + "”", Description: "A permission defined by the app's provider."}
}

func (st scopeText) describeAll(scopes []string) []scopeInfo {
	out := make([]scopeInfo, 0, len(scopes))
	for _, s := range scopes {
		out = append(out, st.describe(s))
	}
	return out
}

// titles is the short form used on the account page.
func (st scopeText) titles(scopes []string) []string {
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		out = append(out, st.describe(s).Title)
	}
	return out
}

// scopeOrder lists the standard scopes in the order people read them.
var scopeOrder = map[string]int{"openid": 0, "profile": 1, "email": 2, "groups": 3, "offline_access": 4}

// scopeRank orders standard scopes first (in scopeOrder), others by name.
func scopeRank(a, b string) bool {
	ra, oka := scopeOrder[a]
	rb, okb := scopeOrder[b]
	switch {
	case oka && okb:
		return ra < rb
	case oka != okb:
		return oka
	}
	return a < b
}

// apiInfo is a registered API on the consent page.
type apiInfo struct {
	Name string
	URI  string
}

// describeTargets finds the registered APIs among the requested audience
// (the authorization endpoint put the `resource` values there after
// checking them) and describes the requested scopes, preferring an API's
// own words for its scopes over the generic ones.
func (h *Handler) describeTargets(ctx context.Context, audience, scopes []string) ([]apiInfo, []scopeInfo, error) {
	var apis []apiInfo
	own := map[string]scopeInfo{}
	for _, aud := range audience {
		r, err := h.store.GetResourceByURI(ctx, aud)
		if errors.Is(err, storage.ErrNotFound) {
			continue // a plain audience, not a registered API
		}
		if err != nil {
			return nil, nil, fmt.Errorf("web: load resource: %w", err)
		}
		apis = append(apis, apiInfo{Name: r.Name, URI: r.URI})
		for _, s := range r.Scopes {
			if _, taken := own[s.Name]; !taken {
				own[s.Name] = scopeInfo{Name: s.Name, Title: s.Description, Description: "Permission “" + s.Name + "” on " + r.Name + "."}
			}
		}
	}
	out := make([]scopeInfo, 0, len(scopes))
	for _, s := range scopes {
		if _, std := knownScopes[s]; !std {
			if i, ok := own[s]; ok {
				out = append(out, i)
				continue
			}
		}
		out = append(out, h.scopes.describe(s))
	}
	return apis, out, nil
}

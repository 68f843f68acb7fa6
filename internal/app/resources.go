package app

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// Limits on a registered API (each is shown on the consent page, and a
// URI becomes an aud value, bounded like the client's audiences).
const (
	MaxResourceScopes        = 50
	maxResourceURI           = 500
	maxResourceName          = 100
	maxScopeDescription      = 200
	maxResourcesPerAuthorize = 10
)

// ErrInvalidTarget is RFC 8707 §2's invalid_target: a `resource` that is
// not a registered API, or one the client may not ask for.
var ErrInvalidTarget = errors.New("invalid_target")

// ResourceScopeView is one scope of a registered API.
type ResourceScopeView struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// ResourceView is a registered API as `sesame resources … --json` and
// /admin/resources show it.
type ResourceView struct {
	ID        string              `json:"id"`
	URI       string              `json:"uri"`
	Name      string              `json:"name"`
	Scopes    []ResourceScopeView `json:"scopes"`
	CreatedAt time.Time           `json:"created_at"`
	UpdatedAt time.Time           `json:"updated_at"`
}

// NewResourceView converts a stored resource.
func NewResourceView(r storage.Resource) ResourceView {
	scopes := make([]ResourceScopeView, 0, len(r.Scopes))
	for _, s := range r.Scopes {
		scopes = append(scopes, ResourceScopeView(s))
	}
	return ResourceView{ID: r.ID, URI: r.URI, Name: r.Name, Scopes: scopes, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// ResourceInput is what creates or changes a registered API. On update a
// nil field is left as it is; Scopes replaces the list, and a scope kept
// keeps its description unless Descriptions gives a new one.
type ResourceInput struct {
	URI          *string
	Name         *string
	Scopes       []string // nil: unchanged (update) / none (create)
	Descriptions map[string]string
}

// CheckResourceURI validates the URI of an API (RFC 8707 §2: an absolute
// URI without a fragment; we also refuse a query and user info, and
// require https except on loopback hosts, so a token's aud names an API a
// client can only reach over TLS).
func CheckResourceURI(raw string) error {
	if raw == "" {
		return invalid("uri", "", "must not be empty")
	}
	if len(raw) > maxResourceURI || !validScopeToken(raw) {
		return invalid("uri", raw, fmt.Sprintf("must be at most %d characters of printable ASCII without spaces", maxResourceURI))
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return invalid("uri", raw, "must be an absolute URI like https://api.example.com")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") || u.RawQuery != "" || u.ForceQuery || u.User != nil {
		return invalid("uri", raw, "must not have a fragment, a query or user info (RFC 8707 §2)")
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
		return invalid("uri", raw, "must be https (http only for localhost)")
	}
	return nil
}

// buildScopes turns names and descriptions into the stored list; every
// scope needs a plain-words description (the consent page shows it),
// taken from descs or else from keep (the scopes of the resource before).
func buildScopes(names []string, descs map[string]string, keep []storage.ResourceScope) ([]storage.ResourceScope, error) {
	if len(names) > MaxResourceScopes {
		return nil, invalid("scopes", "", fmt.Sprintf("at most %d scopes", MaxResourceScopes))
	}
	for name := range descs {
		if !slices.Contains(names, name) {
			return nil, invalid("scope_descriptions", name, "describes a scope that is not in --scopes")
		}
	}
	out := make([]storage.ResourceScope, 0, len(names))
	seen := map[string]bool{}
	for _, n := range names {
		if !validScopeToken(n) {
			return nil, invalid("scopes", n, "scopes are tokens of printable ASCII without spaces, quotes or backslashes")
		}
		if seen[n] {
			continue
		}
		seen[n] = true
		d, given := descs[n]
		if !given {
			for _, k := range keep {
				if k.Name == n {
					d, given = k.Description, true
				}
			}
		}
		d, err := checkText("scope_descriptions", d, maxScopeDescription)
		if err != nil {
			return nil, err
		}
		if !given || d == "" {
			return nil, invalid("scope_descriptions", n, "every scope needs a description in plain words (shown on the consent page)")
		}
		out = append(out, storage.ResourceScope{Name: n, Description: d})
	}
	return out, nil
}

func checkResourceName(raw string) (string, error) {
	n, err := checkText("name", raw, maxResourceName)
	if err != nil {
		return "", err
	}
	if n == "" {
		return "", invalid("name", "", "must not be empty")
	}
	return n, nil
}

// CreateResource validates and registers an API; a taken URI wraps
// storage.ErrConflict.
func (s *Service) CreateResource(ctx context.Context, actor string, in ResourceInput) (storage.Resource, error) {
	var r storage.Resource
	if in.URI == nil || in.Name == nil {
		return r, invalid("uri", "", "uri and name are required")
	}
	if err := CheckResourceURI(*in.URI); err != nil {
		return r, err
	}
	name, err := checkResourceName(*in.Name)
	if err != nil {
		return r, err
	}
	scopes, err := buildScopes(in.Scopes, in.Descriptions, nil)
	if err != nil {
		return r, err
	}
	id, err := newUserID() // random UUIDv4, like user and group ids
	if err != nil {
		return r, err
	}
	now := s.clock()
	r = storage.Resource{ID: id, URI: *in.URI, Name: name, Scopes: scopes, CreatedAt: now, UpdatedAt: now}
	err = s.inTx(ctx, func(ctx context.Context) error {
		if err := s.store.CreateResource(ctx, r); err != nil {
			if errors.Is(err, storage.ErrConflict) {
				return conflictf("resource %q already exists", r.URI)
			}
			return fmt.Errorf("create resource: %w", err)
		}
		return s.audit(ctx, actor, "resource.created", "", "", map[string]string{"resource_id": r.ID, "uri": r.URI})
	})
	if err != nil {
		return storage.Resource{}, err
	}
	return r, nil
}

// GetResource finds an API by id or by its exact URI.
func (s *Service) GetResource(ctx context.Context, idOrURI string) (storage.Resource, error) {
	key := strings.TrimSpace(idOrURI)
	if key == "" {
		return storage.Resource{}, invalid("resource", "", "must not be empty")
	}
	r, err := s.store.GetResource(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		r, err = s.store.GetResourceByURI(ctx, key)
	}
	if err != nil {
		return storage.Resource{}, mapNotFound(err, "resource", key)
	}
	return r, nil
}

// ListResources lists every registered API by URI.
func (s *Service) ListResources(ctx context.Context) ([]storage.Resource, error) {
	rs, err := s.store.ListResources(ctx)
	if err != nil {
		return nil, fmt.Errorf("list resources: %w", err)
	}
	return rs, nil
}

// UpdateResource changes the fields in set. Changing the URI does not
// change tokens already issued for the old one; clients whose audiences
// name the old URI can no longer ask for it.
func (s *Service) UpdateResource(ctx context.Context, actor, idOrURI string, in ResourceInput) (storage.Resource, error) {
	var out storage.Resource
	err := s.inTx(ctx, func(ctx context.Context) error {
		r, err := s.GetResource(ctx, idOrURI)
		if err != nil {
			return err
		}
		if in.URI != nil {
			if err := CheckResourceURI(*in.URI); err != nil {
				return err
			}
			r.URI = *in.URI
		}
		if in.Name != nil {
			if r.Name, err = checkResourceName(*in.Name); err != nil {
				return err
			}
		}
		names := in.Scopes
		if names == nil {
			for _, sc := range r.Scopes {
				names = append(names, sc.Name)
			}
		}
		if r.Scopes, err = buildScopes(names, in.Descriptions, r.Scopes); err != nil {
			return err
		}
		r.UpdatedAt = s.clock()
		if err := s.store.UpdateResource(ctx, r); err != nil {
			if errors.Is(err, storage.ErrConflict) {
				return conflictf("resource %q already exists", r.URI)
			}
			return mapNotFound(err, "resource", idOrURI)
		}
		out = r
		return s.audit(ctx, actor, "resource.updated", "", "", map[string]string{"resource_id": r.ID, "uri": r.URI})
	})
	return out, err
}

// DeleteResource removes a registered API (by id or URI). Tokens issued
// for it stay valid until they expire; new requests for it are
// invalid_target.
func (s *Service) DeleteResource(ctx context.Context, actor, idOrURI string) error {
	return s.inTx(ctx, func(ctx context.Context) error {
		r, err := s.GetResource(ctx, idOrURI)
		if err != nil {
			return err
		}
		if err := s.store.DeleteResource(ctx, r.ID); err != nil {
			return mapNotFound(err, "resource", idOrURI)
		}
		return s.audit(ctx, actor, "resource.deleted", "", "", map[string]string{"resource_id": r.ID, "uri": r.URI})
	})
}

// ResourceReader is the part of the store the target check reads.
type ResourceReader interface {
	GetResourceByURI(ctx context.Context, uri string) (storage.Resource, error)
}

// TargetError is an invalid_target refusal with the reason for the
// error_description (RFC 8707 §2). It matches ErrInvalidTarget.
type TargetError struct{ Reason string }

func (e *TargetError) Error() string { return "invalid_target: " + e.Reason }
func (e *TargetError) Unwrap() error { return ErrInvalidTarget }

// ResolveTargets is the one rule for `resource` (RFC 8707): each value must
// be the exact URI of a registered API that is among the client's
// audiences (--audience). It returns the APIs in request order (repeats
// dropped), a *TargetError when a value is refused, or a storage error.
func ResolveTargets(ctx context.Context, rs ResourceReader, clientAudience []string, uris []string) ([]storage.Resource, error) {
	if len(uris) > maxResourcesPerAuthorize {
		return nil, &TargetError{fmt.Sprintf("At most %d resource parameters are accepted.", maxResourcesPerAuthorize)}
	}
	out := make([]storage.Resource, 0, len(uris))
	seen := map[string]bool{}
	for _, u := range uris {
		if seen[u] {
			continue
		}
		seen[u] = true
		if CheckResourceURI(u) != nil {
			return nil, &TargetError{"The resource parameter must be an absolute URI without a fragment."}
		}
		if !slices.Contains(clientAudience, u) {
			return nil, &TargetError{fmt.Sprintf("The client may not request the resource %q.", u)}
		}
		r, err := rs.GetResourceByURI(ctx, u)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, &TargetError{fmt.Sprintf("The resource %q is not registered.", u)}
		}
		if err != nil {
			return nil, fmt.Errorf("look up resource: %w", err)
		}
		out = append(out, r)
	}
	return out, nil
}

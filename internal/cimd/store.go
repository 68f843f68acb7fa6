package cimd

import (
	"context"
	"fmt"
	"slices"

	"github.com/sesameauth/sesame/storage"
)

// Store is a storage.Store whose GetClient also answers URL client ids,
// from the Resolver. Registered clients (ids without a scheme) and every
// other method go to the wrapped store unchanged.
type Store struct {
	storage.Store
	r *Resolver
}

// Wrap returns s with URL client ids resolved by r.
func Wrap(s storage.Store, r *Resolver) *Store { return &Store{Store: s, r: r} }

// GetClient resolves a URL client id. A document that cannot be fetched
// or is not acceptable is storage.ErrNotFound (invalid_client at the
// endpoints, not a 503: the client's server is not ours). The client may
// ask for every registered API (RFC 8707 resource) — with nobody to
// allow-list it, the user's consent decides — and, if its document named
// no scopes, for those APIs' scopes besides DefaultScopes.
func (s *Store) GetClient(ctx context.Context, id string) (storage.Client, error) {
	if !s.r.Handles(id) {
		return s.Store.GetClient(ctx, id)
	}
	res, err := s.r.resolve(ctx, id)
	if err != nil {
		if ctx.Err() != nil {
			return storage.Client{}, err
		}
		return storage.Client{}, fmt.Errorf("%w: %w", storage.ErrNotFound, err)
	}
	c := res.client
	c.Scopes, c.Audience = slices.Clone(c.Scopes), nil
	apis, err := s.Store.ListResources(ctx)
	if err != nil {
		return storage.Client{}, fmt.Errorf("cimd: list resources: %w", err)
	}
	for _, a := range apis {
		c.Audience = append(c.Audience, a.URI)
		if res.namedScopes {
			continue
		}
		for _, sc := range a.Scopes {
			if !slices.Contains(c.Scopes, sc.Name) {
				c.Scopes = append(c.Scopes, sc.Name)
			}
		}
	}
	return c, nil
}

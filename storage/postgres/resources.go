package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sesameauth/sesame/storage"
)

const resourceCols = `id, uri, name, scopes, created_at, updated_at`

func scanResource(row pgx.CollectableRow) (storage.Resource, error) {
	var (
		r      storage.Resource
		scopes []byte
	)
	if err := row.Scan(&r.ID, &r.URI, &r.Name, &scopes, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return storage.Resource{}, err
	}
	if err := json.Unmarshal(scopes, &r.Scopes); err != nil {
		return storage.Resource{}, fmt.Errorf("decode resource scopes: %w", err)
	}
	if len(r.Scopes) == 0 {
		r.Scopes = nil
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return r, nil
}

// resourceScopes encodes the scopes column; nil is stored as []. Text,
// not []byte: in the exec query mode used behind PgBouncer pgx encodes a
// []byte as bytea ("\x5b…"), which is not JSON.
func resourceScopes(s []storage.ResourceScope) (string, error) {
	if s == nil {
		s = []storage.ResourceScope{}
	}
	b, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("encode resource scopes: %w", err)
	}
	return string(b), nil
}

// CreateResource inserts; ErrConflict if the id or the URI exists.
func (s *Store) CreateResource(ctx context.Context, r storage.Resource) error {
	scopes, err := resourceScopes(r.Scopes)
	if err != nil {
		return err
	}
	_, err = s.q(ctx).Exec(ctx, `INSERT INTO resources (`+resourceCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		r.ID, r.URI, r.Name, scopes, ts(r.CreatedAt), ts(r.UpdatedAt))
	return mapErr("create resource", err)
}

// GetResource returns the resource with id; ErrNotFound if absent.
func (s *Store) GetResource(ctx context.Context, id string) (storage.Resource, error) {
	return s.oneResource(ctx, "get resource", `SELECT `+resourceCols+` FROM resources WHERE id = $1`, id)
}

// GetResourceByURI matches the URI exactly.
func (s *Store) GetResourceByURI(ctx context.Context, uri string) (storage.Resource, error) {
	return s.oneResource(ctx, "get resource by uri", `SELECT `+resourceCols+` FROM resources WHERE uri = $1`, uri)
}

func (s *Store) oneResource(ctx context.Context, op, query string, args ...any) (storage.Resource, error) {
	rows, _ := s.q(ctx).Query(ctx, query, args...)
	r, err := pgx.CollectExactlyOneRow(rows, scanResource)
	return r, mapErr(op, err)
}

// ListResources lists every resource by URI (byte order).
func (s *Store) ListResources(ctx context.Context) ([]storage.Resource, error) {
	rows, _ := s.q(ctx).Query(ctx, `SELECT `+resourceCols+` FROM resources ORDER BY uri COLLATE "C"`)
	rs, err := pgx.CollectRows(rows, scanResource)
	return rs, mapErr("list resources", err)
}

// UpdateResource replaces uri, name, scopes and updated_at.
func (s *Store) UpdateResource(ctx context.Context, r storage.Resource) error {
	scopes, err := resourceScopes(r.Scopes)
	if err != nil {
		return err
	}
	tag, err := s.q(ctx).Exec(ctx, `UPDATE resources SET uri = $2, name = $3, scopes = $4, updated_at = $5 WHERE id = $1`,
		r.ID, r.URI, r.Name, scopes, ts(r.UpdatedAt))
	if err != nil {
		return mapErr("update resource", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("update resource")
	}
	return nil
}

// DeleteResource removes a resource; ErrNotFound if absent.
func (s *Store) DeleteResource(ctx context.Context, id string) error {
	tag, err := s.q(ctx).Exec(ctx, `DELETE FROM resources WHERE id = $1`, id)
	if err != nil {
		return mapErr("delete resource", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("delete resource")
	}
	return nil
}

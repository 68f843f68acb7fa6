package sqlite

import (
	"context"

	"github.com/sesameauth/sesame/storage"
)

const resourceCols = `id, uri, name, scopes, created_at, updated_at`

func scanResource(row interface{ Scan(...any) error }) (storage.Resource, error) {
	var r storage.Resource
	err := row.Scan(&r.ID, &r.URI, &r.Name, jsonCol{&r.Scopes}, timeCol{&r.CreatedAt}, timeCol{&r.UpdatedAt})
	if len(r.Scopes) == 0 {
		r.Scopes = nil
	}
	return r, err
}

// scopesJSON encodes the scopes column; nil is stored as [].
func scopesJSON(s []storage.ResourceScope) string {
	if s == nil {
		s = []storage.ResourceScope{}
	}
	return js(s)
}

// CreateResource inserts; ErrConflict if the id or the URI exists.
func (s *Store) CreateResource(ctx context.Context, r storage.Resource) error {
	_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO resources (`+resourceCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
		r.ID, r.URI, r.Name, scopesJSON(r.Scopes), ts(r.CreatedAt), ts(r.UpdatedAt))
	return wrap("create resource", err)
}

// GetResource returns the resource with id; ErrNotFound if absent.
func (s *Store) GetResource(ctx context.Context, id string) (storage.Resource, error) {
	r, err := scanResource(s.q(ctx).QueryRowContext(ctx, `SELECT `+resourceCols+` FROM resources WHERE id = ?`, id))
	return r, wrap("get resource", err)
}

// GetResourceByURI matches the URI exactly.
func (s *Store) GetResourceByURI(ctx context.Context, uri string) (storage.Resource, error) {
	r, err := scanResource(s.q(ctx).QueryRowContext(ctx, `SELECT `+resourceCols+` FROM resources WHERE uri = ?`, uri))
	return r, wrap("get resource by uri", err)
}

// ListResources lists every resource by URI (byte order: SQLite's BINARY).
func (s *Store) ListResources(ctx context.Context) ([]storage.Resource, error) {
	const op = "list resources"
	rows, err := s.q(ctx).QueryContext(ctx, `SELECT `+resourceCols+` FROM resources ORDER BY uri`)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []storage.Resource
	for rows.Next() {
		r, err := scanResource(rows)
		if err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, r)
	}
	return out, wrap(op, rows.Err())
}

// UpdateResource replaces uri, name, scopes and updated_at.
func (s *Store) UpdateResource(ctx context.Context, r storage.Resource) error {
	const op = "update resource"
	res, err := s.q(ctx).ExecContext(ctx, `UPDATE resources SET uri = ?, name = ?, scopes = ?, updated_at = ? WHERE id = ?`,
		r.URI, r.Name, scopesJSON(r.Scopes), ts(r.UpdatedAt), r.ID)
	if err != nil {
		return wrap(op, err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return wrap(op, err)
	}
	if n == 0 {
		return notFound(op, r.ID)
	}
	return nil
}

// DeleteResource removes a resource; ErrNotFound if absent.
func (s *Store) DeleteResource(ctx context.Context, id string) error {
	return s.deleteOne(ctx, "delete resource", `DELETE FROM resources WHERE id = ?`, id)
}

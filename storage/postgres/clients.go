package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesameauth/sesame/storage"
)

const clientCols = `id, secret_hash, rotated_secret_hashes, name, description, redirect_uris,
	post_logout_redirect_uris, grant_types, response_types, scopes, audience,
	token_endpoint_auth_method, public, skip_consent, access_token_format,
	allowed_cors_origins, logo_uri, client_uri, policy_uri, terms_uri, contacts,
	jwks, jwks_uri, id_token_signed_response_alg, access_token_lifespan_ns,
	refresh_token_lifespan_ns, id_token_lifespan_ns, auth_code_lifespan_ns,
	registration_token_hash, metadata, created_at, updated_at, require_mfa,
	require_pushed_authorization_requests, token_exchange_audiences`

// clientArgs lists c's values in clientCols order.
func clientArgs(c storage.Client) []any {
	return []any{
		c.ID, c.SecretHash, arr(c.RotatedSecretHashes), c.Name, c.Description, arr(c.RedirectURIs),
		arr(c.PostLogoutRedirectURIs), arr(c.GrantTypes), arr(c.ResponseTypes), arr(c.Scopes), arr(c.Audience),
		c.TokenEndpointAuthMethod, c.Public, c.SkipConsent, c.AccessTokenFormat,
		arr(c.AllowedCORSOrigins), c.LogoURI, c.ClientURI, c.PolicyURI, c.TermsURI, arr(c.Contacts),
		c.JWKS, c.JWKSURI, c.IDTokenSignedResponseAlg, int64(c.Lifespans.AccessToken),
		int64(c.Lifespans.RefreshToken), int64(c.Lifespans.IDToken), int64(c.Lifespans.AuthCode),
		c.RegistrationTokenHash, c.Metadata, ts(c.CreatedAt), ts(c.UpdatedAt), c.RequireMFA,
		c.RequirePushedAuthorizationRequests, arr(c.TokenExchangeAudiences),
	}
}

func scanClient(row pgx.CollectableRow) (storage.Client, error) {
	var (
		c              storage.Client
		at, rt, it, ac int64
	)
	err := row.Scan(&c.ID, &c.SecretHash, &c.RotatedSecretHashes, &c.Name, &c.Description, &c.RedirectURIs,
		&c.PostLogoutRedirectURIs, &c.GrantTypes, &c.ResponseTypes, &c.Scopes, &c.Audience,
		&c.TokenEndpointAuthMethod, &c.Public, &c.SkipConsent, &c.AccessTokenFormat,
		&c.AllowedCORSOrigins, &c.LogoURI, &c.ClientURI, &c.PolicyURI, &c.TermsURI, &c.Contacts,
		&c.JWKS, &c.JWKSURI, &c.IDTokenSignedResponseAlg, &at, &rt, &it, &ac,
		&c.RegistrationTokenHash, &c.Metadata, &c.CreatedAt, &c.UpdatedAt, &c.RequireMFA,
		&c.RequirePushedAuthorizationRequests, &c.TokenExchangeAudiences)
	if err != nil {
		return storage.Client{}, err
	}
	c.Lifespans = storage.ClientLifespans{
		AccessToken: time.Duration(at), RefreshToken: time.Duration(rt),
		IDToken: time.Duration(it), AuthCode: time.Duration(ac),
	}
	c.RotatedSecretHashes = list(c.RotatedSecretHashes)
	c.RedirectURIs = list(c.RedirectURIs)
	c.PostLogoutRedirectURIs = list(c.PostLogoutRedirectURIs)
	c.GrantTypes = list(c.GrantTypes)
	c.ResponseTypes = list(c.ResponseTypes)
	c.Scopes = list(c.Scopes)
	c.Audience = list(c.Audience)
	c.AllowedCORSOrigins = list(c.AllowedCORSOrigins)
	c.Contacts = list(c.Contacts)
	c.TokenExchangeAudiences = list(c.TokenExchangeAudiences)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, nil
}

// CreateClient inserts c; ErrConflict if its id is taken.
func (s *Store) CreateClient(ctx context.Context, c storage.Client) error {
	_, err := s.q(ctx).Exec(ctx, `INSERT INTO clients (`+clientCols+`) VALUES (
		$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
		$17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35)`,
		clientArgs(c)...)
	return mapErr("create client", err)
}

// GetClient returns the client with id.
func (s *Store) GetClient(ctx context.Context, id string) (storage.Client, error) {
	rows, _ := s.q(ctx).Query(ctx, `SELECT `+clientCols+` FROM clients WHERE id = $1`, id)
	c, err := pgx.CollectExactlyOneRow(rows, scanClient)
	if err != nil {
		return storage.Client{}, mapErr("get client", err)
	}
	return c, nil
}

// UpdateClient replaces every field of the client but ID and CreatedAt.
func (s *Store) UpdateClient(ctx context.Context, c storage.Client) error {
	args := clientArgs(c)
	args = append(args[:30], args[31:]...) // drop created_at: it never changes
	tag, err := s.q(ctx).Exec(ctx, `UPDATE clients SET
		secret_hash = $2, rotated_secret_hashes = $3, name = $4, description = $5, redirect_uris = $6,
		post_logout_redirect_uris = $7, grant_types = $8, response_types = $9, scopes = $10, audience = $11,
		token_endpoint_auth_method = $12, public = $13, skip_consent = $14, access_token_format = $15,
		allowed_cors_origins = $16, logo_uri = $17, client_uri = $18, policy_uri = $19, terms_uri = $20,
		contacts = $21, jwks = $22, jwks_uri = $23, id_token_signed_response_alg = $24,
		access_token_lifespan_ns = $25, refresh_token_lifespan_ns = $26, id_token_lifespan_ns = $27,
		auth_code_lifespan_ns = $28, registration_token_hash = $29, metadata = $30, updated_at = $31,
		require_mfa = $32, require_pushed_authorization_requests = $33, token_exchange_audiences = $34
		WHERE id = $1`,
		args...)
	if err != nil {
		return mapErr("update client", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("update client")
	}
	return nil
}

// DeleteClient removes the client; ErrNotFound if absent.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	tag, err := s.q(ctx).Exec(ctx, `DELETE FROM clients WHERE id = $1`, id)
	if err != nil {
		return mapErr("delete client", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("delete client")
	}
	return nil
}

// ListClients returns one page of clients ordered by id (byte order),
// optionally filtered by a case-insensitive substring of the name.
func (s *Store) ListClients(ctx context.Context, o storage.ListOptions) ([]storage.Client, string, error) {
	limit := o.EffectiveLimit()
	var (
		where []string
		args  []any
	)
	if o.Cursor != "" {
		after, err := decodeCursor("clients", o.Cursor)
		if err != nil {
			return nil, "", err
		}
		args = append(args, after)
		where = append(where, fmt.Sprintf(`id > $%d`, len(args)))
	}
	if o.Query != "" {
		args = append(args, likePattern(o.Query))
		where = append(where, fmt.Sprintf(`name ILIKE $%d`, len(args)))
	}
	sql := `SELECT ` + clientCols + ` FROM clients`
	if len(where) > 0 {
		sql += ` WHERE ` + strings.Join(where, ` AND `)
	}
	args = append(args, limit+1) // one more tells whether a next page exists
	sql += fmt.Sprintf(` ORDER BY id LIMIT $%d`, len(args))

	rows, _ := s.q(ctx).Query(ctx, sql, args...)
	clients, err := pgx.CollectRows(rows, scanClient)
	if err != nil {
		return nil, "", mapErr("list clients", err)
	}
	if len(clients) <= limit {
		return clients, "", nil
	}
	clients = clients[:limit]
	return clients, encodeCursor("clients", clients[limit-1].ID), nil
}

// RotateClientSecret swaps the secret hash from oldHash to newHash only if
// oldHash is still current, so that of two concurrent rotations exactly one
// wins. With keepOld the previous hash joins RotatedSecretHashes (a public
// client's empty hash is never kept: it is not a secret).
func (s *Store) RotateClientSecret(ctx context.Context, id, oldHash, newHash string, keepOld bool, at time.Time) error {
	const op = "rotate client secret"
	tag, err := s.q(ctx).Exec(ctx, `UPDATE clients SET secret_hash = $3,
		rotated_secret_hashes = CASE WHEN $4 AND $2 <> '' THEN array_append(rotated_secret_hashes, $2::text)
			ELSE rotated_secret_hashes END,
		updated_at = $5
		WHERE id = $1 AND secret_hash = $2`,
		id, oldHash, newHash, keepOld, ts(at))
	if err != nil {
		return mapErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return s.exists(ctx, op, `SELECT 1 FROM clients WHERE id = $1`, id)
	}
	return nil
}

package sqlite

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/sesameauth/sesame/storage"
)

const clientCols = `id, secret_hash, rotated_secret_hashes, name, description, redirect_uris,
	post_logout_redirect_uris, grant_types, response_types, scopes, audience,
	token_endpoint_auth_method, public, skip_consent, access_token_format,
	allowed_cors_origins, logo_uri, client_uri, policy_uri, terms_uri, contacts, jwks,
	jwks_uri, id_token_signed_response_alg, access_token_lifespan, refresh_token_lifespan,
	id_token_lifespan, auth_code_lifespan, registration_token_hash, metadata,
	created_at, updated_at, require_mfa, require_pushed_authorization_requests,
	token_exchange_audiences`

// clientArgs lists c's values in clientCols order, then name_lower.
func clientArgs(c storage.Client) []any {
	return []any{c.ID, c.SecretHash, js(c.RotatedSecretHashes), c.Name, c.Description,
		js(c.RedirectURIs), js(c.PostLogoutRedirectURIs), js(c.GrantTypes), js(c.ResponseTypes),
		js(c.Scopes), js(c.Audience), c.TokenEndpointAuthMethod, boolInt(c.Public),
		boolInt(c.SkipConsent), c.AccessTokenFormat, js(c.AllowedCORSOrigins), c.LogoURI,
		c.ClientURI, c.PolicyURI, c.TermsURI, js(c.Contacts), c.JWKS, c.JWKSURI,
		c.IDTokenSignedResponseAlg, int64(c.Lifespans.AccessToken), int64(c.Lifespans.RefreshToken),
		int64(c.Lifespans.IDToken), int64(c.Lifespans.AuthCode), c.RegistrationTokenHash,
		c.Metadata, ts(c.CreatedAt), ts(c.UpdatedAt), boolInt(c.RequireMFA),
		boolInt(c.RequirePushedAuthorizationRequests), js(c.TokenExchangeAudiences), strings.ToLower(c.Name)}
}

func scanClient(row interface{ Scan(...any) error }) (storage.Client, error) {
	var (
		c                    storage.Client
		at, rt, idt, codeLif int64
	)
	err := row.Scan(&c.ID, &c.SecretHash, jsonCol{&c.RotatedSecretHashes}, &c.Name, &c.Description,
		jsonCol{&c.RedirectURIs}, jsonCol{&c.PostLogoutRedirectURIs}, jsonCol{&c.GrantTypes},
		jsonCol{&c.ResponseTypes}, jsonCol{&c.Scopes}, jsonCol{&c.Audience},
		&c.TokenEndpointAuthMethod, &c.Public, &c.SkipConsent, &c.AccessTokenFormat,
		jsonCol{&c.AllowedCORSOrigins}, &c.LogoURI, &c.ClientURI, &c.PolicyURI, &c.TermsURI,
		jsonCol{&c.Contacts}, &c.JWKS, &c.JWKSURI, &c.IDTokenSignedResponseAlg,
		&at, &rt, &idt, &codeLif, &c.RegistrationTokenHash, &c.Metadata,
		timeCol{&c.CreatedAt}, timeCol{&c.UpdatedAt}, &c.RequireMFA, &c.RequirePushedAuthorizationRequests,
		jsonCol{&c.TokenExchangeAudiences})
	c.Lifespans = storage.ClientLifespans{
		AccessToken:  time.Duration(at),
		RefreshToken: time.Duration(rt),
		IDToken:      time.Duration(idt),
		AuthCode:     time.Duration(codeLif),
	}
	return c, err
}

// CreateClient inserts; ErrConflict on duplicate id.
func (s *Store) CreateClient(ctx context.Context, c storage.Client) error {
	_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO clients (`+clientCols+`, name_lower)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		clientArgs(c)...)
	return wrap("create client", err)
}

// GetClient returns the client with id; ErrNotFound if absent.
func (s *Store) GetClient(ctx context.Context, id string) (storage.Client, error) {
	c, err := scanClient(s.q(ctx).QueryRowContext(ctx, `SELECT `+clientCols+` FROM clients WHERE id = ?`, id))
	return c, wrap("get client", err)
}

// UpdateClient replaces every field but ID and CreatedAt; ErrNotFound if absent.
func (s *Store) UpdateClient(ctx context.Context, c storage.Client) error {
	a := clientArgs(c)
	// Drop id (first) and created_at (sixth from last) from the SET list.
	set := []string{"secret_hash", "rotated_secret_hashes", "name", "description", "redirect_uris",
		"post_logout_redirect_uris", "grant_types", "response_types", "scopes", "audience",
		"token_endpoint_auth_method", "public", "skip_consent", "access_token_format",
		"allowed_cors_origins", "logo_uri", "client_uri", "policy_uri", "terms_uri", "contacts",
		"jwks", "jwks_uri", "id_token_signed_response_alg", "access_token_lifespan",
		"refresh_token_lifespan", "id_token_lifespan", "auth_code_lifespan",
		"registration_token_hash", "metadata"}
	args := append([]any{}, a[1:len(a)-6]...)
	// updated_at, require_mfa, require_pushed_authorization_requests,
	// token_exchange_audiences, name_lower, id
	args = append(args, a[len(a)-5:]...)
	args = append(args, c.ID)
	res, err := s.q(ctx).ExecContext(ctx, `UPDATE clients SET `+strings.Join(set, " = ?, ")+
		` = ?, updated_at = ?, require_mfa = ?, require_pushed_authorization_requests = ?, token_exchange_audiences = ?, name_lower = ? WHERE id = ?`, args...)
	if err != nil {
		return wrap("update client", err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return wrap("update client", err)
	}
	if n == 0 {
		return notFound("update client", c.ID)
	}
	return nil
}

// DeleteClient removes a client; ErrNotFound if absent.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	return s.deleteOne(ctx, "delete client", `DELETE FROM clients WHERE id = ?`, id)
}

// ListClients orders by id; the cursor is the last id. Query filters on
// the name, case-insensitively.
func (s *Store) ListClients(ctx context.Context, o storage.ListOptions) ([]storage.Client, string, error) {
	limit := o.EffectiveLimit()
	where := []string{"1 = 1"}
	var args []any
	if o.Cursor != "" {
		after, err := decodeCursor(o.Cursor)
		if err != nil {
			return nil, "", wrap("list clients", err)
		}
		where = append(where, "id > ?")
		args = append(args, after)
	}
	if o.Query != "" {
		where = append(where, "instr(name_lower, ?) > 0")
		args = append(args, strings.ToLower(o.Query))
	}
	args = append(args, limit+1)
	rows, err := s.q(ctx).QueryContext(ctx, `SELECT `+clientCols+` FROM clients WHERE `+
		strings.Join(where, " AND ")+` ORDER BY id LIMIT ?`, args...)
	if err != nil {
		return nil, "", wrap("list clients", err)
	}
	defer rows.Close()
	var out []storage.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, "", wrap("list clients", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, "", wrap("list clients", err)
	}
	if len(out) > limit {
		return out[:limit], encodeCursor(out[limit-1].ID), nil
	}
	return out, "", nil
}

// RotateClientSecret replaces the secret hash only if the current one is
// oldHash. The read and the write share one BEGIN IMMEDIATE transaction, so
// a concurrent rotation waits and then sees the new hash (ErrConflict).
func (s *Store) RotateClientSecret(ctx context.Context, id, oldHash, newHash string, keepOld bool, at time.Time) error {
	const op = "rotate client secret"
	err := s.inTx(ctx, func(q querier) error {
		var (
			current string
			rotated []string
		)
		err := q.QueryRowContext(ctx, `SELECT secret_hash, rotated_secret_hashes FROM clients WHERE id = ?`, id).
			Scan(&current, jsonCol{&rotated})
		if errors.Is(err, sql.ErrNoRows) {
			return missing(id)
		}
		if err != nil {
			return err
		}
		// Hashes of secrets: compare in constant time all the same.
		if subtle.ConstantTimeCompare([]byte(current), []byte(oldHash)) != 1 {
			return lost("secret changed concurrently")
		}
		if keepOld && oldHash != "" {
			rotated = append(rotated, oldHash)
		}
		_, err = q.ExecContext(ctx, `UPDATE clients SET secret_hash = ?, rotated_secret_hashes = ?,
			updated_at = ? WHERE id = ?`, newHash, js(rotated), ts(at), id)
		return err
	})
	return wrap(op, err)
}

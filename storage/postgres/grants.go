package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesameauth/sesame/storage"
)

const grantCols = `request_id, client_id, subject, session_id, grant_type, scopes, audience,
	created_at, last_used_at, expires_at, revoked_at, revoke_reason`

func scanGrant(row pgx.CollectableRow) (storage.Grant, error) {
	var g storage.Grant
	err := row.Scan(&g.RequestID, &g.ClientID, &g.Subject, &g.SessionID, &g.GrantType, &g.Scopes,
		&g.Audience, &g.CreatedAt, &g.LastUsedAt, &g.ExpiresAt, &g.RevokedAt, &g.RevokeReason)
	if err != nil {
		return storage.Grant{}, err
	}
	g.Scopes, g.Audience = list(g.Scopes), list(g.Audience)
	g.CreatedAt, g.LastUsedAt, g.ExpiresAt = g.CreatedAt.UTC(), g.LastUsedAt.UTC(), g.ExpiresAt.UTC()
	g.RevokedAt = utcPtr(g.RevokedAt)
	return g, nil
}

// CreateGrant inserts g; an existing grant with the same RequestID is left
// unchanged (a refresh re-uses its family's id).
func (s *Store) CreateGrant(ctx context.Context, g storage.Grant) error {
	_, err := s.q(ctx).Exec(ctx, `INSERT INTO grants (`+grantCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (request_id) DO NOTHING`,
		g.RequestID, g.ClientID, g.Subject, g.SessionID, g.GrantType, arr(g.Scopes), arr(g.Audience),
		ts(g.CreatedAt), ts(g.LastUsedAt), ts(g.ExpiresAt), tsPtr(g.RevokedAt), g.RevokeReason)
	return mapErr("create grant", err)
}

// GetGrant returns the grant family requestID.
func (s *Store) GetGrant(ctx context.Context, requestID string) (storage.Grant, error) {
	rows, _ := s.q(ctx).Query(ctx, `SELECT `+grantCols+` FROM grants WHERE request_id = $1`, requestID)
	g, err := pgx.CollectExactlyOneRow(rows, scanGrant)
	if err != nil {
		return storage.Grant{}, mapErr("get grant", err)
	}
	return g, nil
}

// LockGrant implements storage.GrantStore: a row lock (FOR UPDATE) that
// lasts until the caller's transaction ends.
func (s *Store) LockGrant(ctx context.Context, requestID string) error {
	var one int
	err := s.q(ctx).QueryRow(ctx, `SELECT 1 FROM grants WHERE request_id = $1 FOR UPDATE`, requestID).Scan(&one)
	if err != nil {
		return mapErr("lock grant", err)
	}
	return nil
}

// TouchGrant records a use of the family and extends its expiry (never
// shortens it).
func (s *Store) TouchGrant(ctx context.Context, requestID string, lastUsed, expiresAt time.Time) error {
	tag, err := s.q(ctx).Exec(ctx, `UPDATE grants SET last_used_at = $2,
		expires_at = GREATEST(expires_at, $3) WHERE request_id = $1`,
		requestID, ts(lastUsed), ts(expiresAt))
	if err != nil {
		return mapErr("touch grant", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("touch grant")
	}
	return nil
}

// RevokeGrant marks the family revoked; a grant already revoked keeps its
// first RevokedAt and reason.
func (s *Store) RevokeGrant(ctx context.Context, requestID, reason string, at time.Time) error {
	tag, err := s.q(ctx).Exec(ctx, `UPDATE grants SET
		revoke_reason = CASE WHEN revoked_at IS NULL THEN $2 ELSE revoke_reason END,
		revoked_at = COALESCE(revoked_at, $3)
		WHERE request_id = $1`, requestID, reason, ts(at))
	s.noteRevocation(ctx)
	if err != nil {
		return mapErr("revoke grant", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("revoke grant")
	}
	return nil
}

// grantWhere builds the WHERE clause of f, numbering parameters after
// the args already present.
func grantWhere(f storage.GrantFilter, args []any) ([]string, []any) {
	var where []string
	if f.Subject != "" {
		args = append(args, f.Subject)
		where = append(where, fmt.Sprintf(`subject = $%d`, len(args)))
	}
	if f.ClientID != "" {
		args = append(args, f.ClientID)
		where = append(where, fmt.Sprintf(`client_id = $%d`, len(args)))
	}
	if f.ActiveOnly {
		now := f.Now
		if now.IsZero() {
			now = time.Now()
		}
		args = append(args, ts(now))
		where = append(where, fmt.Sprintf(`revoked_at IS NULL AND expires_at > $%d`, len(args)))
	}
	return where, args
}

// RevokeGrants revokes every unrevoked grant matching f and returns their
// request ids. A filter on the client alone also records at as the
// client's revocation instant (for its grantless client_credentials
// tokens): a data-modifying WITH makes both writes one statement, atomic
// without a transaction of its own.
func (s *Store) RevokeGrants(ctx context.Context, f storage.GrantFilter, reason string, at time.Time) ([]string, error) {
	where, args := grantWhere(f, []any{reason, ts(at)})
	where = append(where, `revoked_at IS NULL`)
	sql := `UPDATE grants SET revoked_at = $2, revoke_reason = $1
		WHERE ` + strings.Join(where, ` AND `) + ` RETURNING request_id`
	if f.ClientID != "" && f.Subject == "" {
		args = append(args, f.ClientID)
		sql = `WITH revoked AS (` + sql + `), stamped AS (` +
			fmt.Sprintf(upsertClientRevocation, len(args), 2) + `) SELECT request_id FROM revoked`
	}
	rows, _ := s.q(ctx).Query(ctx, sql, args...)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	s.noteRevocation(ctx)
	if err != nil {
		return nil, mapErr("revoke grants", err)
	}
	return ids, nil
}

// upsertClientRevocation records a client's revocation instant, keeping
// the later one; its verbs number the client id and time parameters.
const upsertClientRevocation = `INSERT INTO client_revocations (client_id, revoked_at) VALUES ($%d, $%d)
	ON CONFLICT (client_id) DO UPDATE
	SET revoked_at = GREATEST(client_revocations.revoked_at, EXCLUDED.revoked_at)`

// RevokeClientTokens records at as the client's revocation instant unless
// a later one is already recorded.
func (s *Store) RevokeClientTokens(ctx context.Context, clientID string, at time.Time) error {
	_, err := s.q(ctx).Exec(ctx, fmt.Sprintf(upsertClientRevocation, 1, 2), clientID, ts(at))
	s.noteRevocation(ctx)
	return mapErr("revoke client tokens", err)
}

// ClientTokensRevokedAt returns the client's revocation instant, the zero
// time if none was recorded.
func (s *Store) ClientTokensRevokedAt(ctx context.Context, clientID string) (time.Time, error) {
	var at time.Time
	err := s.q(ctx).QueryRow(ctx, `SELECT revoked_at FROM client_revocations WHERE client_id = $1`,
		clientID).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, mapErr("client tokens revoked at", err)
	}
	return at.UTC(), nil
}

// ListGrants lists the grants matching f, oldest first.
func (s *Store) ListGrants(ctx context.Context, f storage.GrantFilter) ([]storage.Grant, error) {
	where, args := grantWhere(f, nil)
	sql := `SELECT ` + grantCols + ` FROM grants`
	if len(where) > 0 {
		sql += ` WHERE ` + strings.Join(where, ` AND `)
	}
	rows, _ := s.q(ctx).Query(ctx, sql+` ORDER BY created_at, request_id`, args...)
	gs, err := pgx.CollectRows(rows, scanGrant)
	if err != nil {
		return nil, mapErr("list grants", err)
	}
	return gs, nil
}

// DeleteExpiredGrants deletes up to limit grants that expired before
// `before`.
func (s *Store) DeleteExpiredGrants(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.deleteBatch(ctx, "delete expired grants", "grants", "expires_at < $1", limit, ts(before))
}

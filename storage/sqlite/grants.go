package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/sesameauth/sesame/storage"
)

const grantCols = `request_id, client_id, subject, session_id, grant_type, scopes, audience,
	created_at, last_used_at, expires_at, revoked_at, revoke_reason`

func scanGrant(row interface{ Scan(...any) error }) (storage.Grant, error) {
	var g storage.Grant
	err := row.Scan(&g.RequestID, &g.ClientID, &g.Subject, &g.SessionID, &g.GrantType,
		jsonCol{&g.Scopes}, jsonCol{&g.Audience}, timeCol{&g.CreatedAt}, timeCol{&g.LastUsedAt},
		timeCol{&g.ExpiresAt}, nullTimeCol{&g.RevokedAt}, &g.RevokeReason)
	return g, err
}

// CreateGrant inserts a grant; an existing RequestID is left unchanged
// (refresh re-uses the id).
func (s *Store) CreateGrant(ctx context.Context, g storage.Grant) error {
	_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO grants (`+grantCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (request_id) DO NOTHING`,
		g.RequestID, g.ClientID, g.Subject, g.SessionID, g.GrantType, js(g.Scopes), js(g.Audience),
		ts(g.CreatedAt), ts(g.LastUsedAt), ts(g.ExpiresAt), tsPtr(g.RevokedAt), g.RevokeReason)
	return wrap("create grant", err)
}

// GetGrant returns a grant; ErrNotFound if absent.
func (s *Store) GetGrant(ctx context.Context, requestID string) (storage.Grant, error) {
	g, err := scanGrant(s.q(ctx).QueryRowContext(ctx,
		`SELECT `+grantCols+` FROM grants WHERE request_id = ?`, requestID))
	return g, wrap("get grant", err)
}

// TouchGrant sets LastUsedAt and raises ExpiresAt to at least expiresAt
// (fixed-width time text makes MAX chronological); ErrNotFound if absent.
// LockGrant implements storage.GrantStore. Every transaction here already
// holds the database's write lock (BEGIN IMMEDIATE), so the grant is
// locked with everything else: only its existence is checked.
func (s *Store) LockGrant(ctx context.Context, requestID string) error {
	var one int
	err := s.q(ctx).QueryRowContext(ctx, `SELECT 1 FROM grants WHERE request_id = ?`, requestID).Scan(&one)
	return wrap("lock grant", err)
}

func (s *Store) TouchGrant(ctx context.Context, requestID string, lastUsed, expiresAt time.Time) error {
	const op = "touch grant"
	n, err := s.execCount(ctx, op, `UPDATE grants SET last_used_at = ?, expires_at = MAX(expires_at, ?)
		WHERE request_id = ?`, ts(lastUsed), ts(expiresAt), requestID)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(op, requestID)
	}
	return nil
}

// RevokeGrant marks one grant revoked; an already revoked grant keeps its
// first RevokedAt and reason. ErrNotFound if absent.
func (s *Store) RevokeGrant(ctx context.Context, requestID, reason string, at time.Time) error {
	const op = "revoke grant"
	// SET expressions read the row's old values, so both CASEs see the
	// revoked_at from before this statement.
	n, err := s.execCount(ctx, op, `UPDATE grants SET
			revoked_at = COALESCE(revoked_at, ?),
			revoke_reason = CASE WHEN revoked_at IS NULL THEN ? ELSE revoke_reason END
		WHERE request_id = ?`, ts(at), reason, requestID)
	s.noteRevocation(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(op, requestID)
	}
	return nil
}

// grantWhere turns a filter into a WHERE clause and its arguments.
func grantWhere(f storage.GrantFilter) (string, []any) {
	where := []string{"1 = 1"}
	var args []any
	if f.Subject != "" {
		where = append(where, "subject = ?")
		args = append(args, f.Subject)
	}
	if f.ClientID != "" {
		where = append(where, "client_id = ?")
		args = append(args, f.ClientID)
	}
	if f.ActiveOnly {
		where = append(where, "revoked_at IS NULL", "expires_at > ?")
		args = append(args, ts(f.Now))
	}
	return strings.Join(where, " AND "), args
}

// RevokeGrants revokes every unrevoked grant matching the filter and
// returns their request ids, in one statement. A filter on the client alone
// also records at as the client's revocation instant (for its grantless
// client_credentials tokens), in the same transaction.
func (s *Store) RevokeGrants(ctx context.Context, f storage.GrantFilter, reason string, at time.Time) ([]string, error) {
	const op = "revoke grants"
	if f.ClientID == "" || f.Subject != "" {
		ids, err := revokeGrants(ctx, s.q(ctx), f, reason, at)
		s.noteRevocation(ctx)
		return ids, wrap(op, err)
	}
	var ids []string
	err := s.inTx(ctx, func(q querier) error {
		var err error
		if ids, err = revokeGrants(ctx, q, f, reason, at); err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, upsertClientRevocation, f.ClientID, ts(at))
		return err
	})
	s.noteRevocation(ctx)
	if err != nil {
		return nil, wrap(op, err)
	}
	return ids, nil
}

func revokeGrants(ctx context.Context, q querier, f storage.GrantFilter, reason string, at time.Time) ([]string, error) {
	where, wargs := grantWhere(f)
	args := append([]any{ts(at), reason}, wargs...)
	rows, err := q.QueryContext(ctx, `UPDATE grants SET revoked_at = ?, revoke_reason = ?
		WHERE revoked_at IS NULL AND `+where+` RETURNING request_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return ids, nil
}

// upsertClientRevocation records a client's revocation instant, keeping
// the later one (fixed-width time text makes MAX chronological).
const upsertClientRevocation = `INSERT INTO client_revocations (client_id, revoked_at) VALUES (?, ?)
	ON CONFLICT (client_id) DO UPDATE SET revoked_at = MAX(revoked_at, excluded.revoked_at)`

// RevokeClientTokens records at as the client's revocation instant unless
// a later one is already recorded.
func (s *Store) RevokeClientTokens(ctx context.Context, clientID string, at time.Time) error {
	_, err := s.q(ctx).ExecContext(ctx, upsertClientRevocation, clientID, ts(at))
	s.noteRevocation(ctx)
	return wrap("revoke client tokens", err)
}

// ClientTokensRevokedAt returns the client's revocation instant, the zero
// time if none was recorded.
func (s *Store) ClientTokensRevokedAt(ctx context.Context, clientID string) (time.Time, error) {
	var at time.Time
	err := s.q(ctx).QueryRowContext(ctx, `SELECT revoked_at FROM client_revocations WHERE client_id = ?`,
		clientID).Scan(timeCol{&at})
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, wrap("client tokens revoked at", err)
	}
	return at, nil
}

// ListGrants lists matching grants, oldest first.
func (s *Store) ListGrants(ctx context.Context, f storage.GrantFilter) ([]storage.Grant, error) {
	const op = "list grants"
	where, args := grantWhere(f)
	rows, err := s.q(ctx).QueryContext(ctx, `SELECT `+grantCols+` FROM grants WHERE `+where+
		` ORDER BY created_at, request_id`, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []storage.Grant
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, g)
	}
	return out, wrap(op, rows.Err())
}

// DeleteExpiredGrants deletes up to limit grants with ExpiresAt before `before`.
func (s *Store) DeleteExpiredGrants(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.execCount(ctx, "delete expired grants", `DELETE FROM grants WHERE rowid IN
		(SELECT rowid FROM grants WHERE expires_at < ? LIMIT ?)`, ts(before), batchLimit(limit))
}

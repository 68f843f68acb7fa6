package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sesameauth/sesame/storage"
)

const auditCols = `id, at, type, actor, client_id, user_id, ip, user_agent, outcome, details`

// AppendAudit appends e; its ID is assigned by the database (e.ID is
// ignored).
func (s *Store) AppendAudit(ctx context.Context, e storage.AuditEvent) error {
	// NULL when there are none. Sent as text, not []byte: in the
	// exec query mode used behind PgBouncer pgx encodes a []byte as bytea
	// ("\x7b…"), which is not JSON.
	var details any
	if len(e.Details) > 0 {
		b, err := json.Marshal(e.Details)
		if err != nil {
			return fmt.Errorf("postgres: append audit: encode details: %w", err)
		}
		details = string(b)
	}
	_, err := s.q(ctx).Exec(ctx, `INSERT INTO audit_events
		(at, type, actor, client_id, user_id, ip, user_agent, outcome, details)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)`,
		ts(e.At), e.Type, e.Actor, e.ClientID, e.UserID, e.IP, e.UserAgent, e.Outcome, details)
	return mapErr("append audit", err)
}

// ListAudit returns one page of events matching f, newest first (by id,
// which follows insertion order). Since is inclusive, Until exclusive.
func (s *Store) ListAudit(ctx context.Context, f storage.AuditFilter) ([]storage.AuditEvent, string, error) {
	const op = "list audit"
	limit := storage.ListOptions{Limit: f.Limit}.EffectiveLimit()
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Cursor != "" {
		raw, err := decodeCursor("audit", f.Cursor)
		if err != nil {
			return nil, "", err
		}
		before, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return nil, "", fmt.Errorf("postgres: invalid audit cursor")
		}
		add(`id < $%d`, before)
	}
	if f.Type != "" {
		add(`type = $%d`, f.Type)
	}
	if f.ClientID != "" {
		add(`client_id = $%d`, f.ClientID)
	}
	if f.UserID != "" {
		add(`user_id = $%d`, f.UserID)
	}
	if !f.Since.IsZero() {
		add(`at >= $%d`, ts(f.Since))
	}
	if !f.Until.IsZero() {
		add(`at < $%d`, ts(f.Until))
	}
	sql := `SELECT ` + auditCols + ` FROM audit_events`
	if len(where) > 0 {
		sql += ` WHERE ` + strings.Join(where, ` AND `)
	}
	args = append(args, limit+1) // one more tells whether a next page exists
	sql += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))

	rows, err := s.q(ctx).Query(ctx, sql, args...)
	if err != nil {
		return nil, "", mapErr(op, err)
	}
	defer rows.Close()
	var events []storage.AuditEvent
	for rows.Next() {
		if len(events) == limit {
			last := events[len(events)-1].ID
			return events, encodeCursor("audit", strconv.FormatInt(last, 10)), nil
		}
		var (
			e       storage.AuditEvent
			details []byte
		)
		if err := rows.Scan(&e.ID, &e.At, &e.Type, &e.Actor, &e.ClientID, &e.UserID,
			&e.IP, &e.UserAgent, &e.Outcome, &details); err != nil {
			return nil, "", mapErr(op, err)
		}
		e.At = e.At.UTC()
		if len(details) > 0 {
			if err := json.Unmarshal(details, &e.Details); err != nil {
				return nil, "", fmt.Errorf("postgres: %s: decode details of event %d: %w", op, e.ID, err)
			}
			if len(e.Details) == 0 {
				e.Details = nil
			}
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", mapErr(op, err)
	}
	return events, "", nil
}

// DeleteAuditBefore deletes up to limit events older than `before`.
func (s *Store) DeleteAuditBefore(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.deleteBatch(ctx, "delete audit", "audit_events", "at < $1", limit, ts(before))
}

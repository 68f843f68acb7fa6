package sqlite

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sesameauth/sesame/storage"
)

const auditCols = `id, at, type, actor, client_id, user_id, ip, user_agent, outcome, details`

// AppendAudit appends an event; the store assigns its ID (e.ID is ignored).
func (s *Store) AppendAudit(ctx context.Context, e storage.AuditEvent) error {
	_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO audit_events
		(at, type, actor, client_id, user_id, ip, user_agent, outcome, details)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ts(e.At), e.Type, e.Actor, e.ClientID, e.UserID, e.IP, e.UserAgent, e.Outcome, js(e.Details))
	return wrap("append audit", err)
}

// ListAudit lists matching events newest first: by time, then (for equal
// times) by id, which AUTOINCREMENT keeps increasing in append order. Since
// is inclusive, Until exclusive. The cursor is the (time, id) of the last
// event returned, so events sharing a timestamp are neither skipped nor
// repeated across pages.
func (s *Store) ListAudit(ctx context.Context, f storage.AuditFilter) ([]storage.AuditEvent, string, error) {
	const op = "list audit"
	limit := storage.ListOptions{Limit: f.Limit}.EffectiveLimit()
	where := []string{"1 = 1"}
	var args []any
	if f.Cursor != "" {
		atText, id, err := decodeAuditCursor(f.Cursor)
		if err != nil {
			return nil, "", wrap(op, err)
		}
		where = append(where, "(at < ? OR (at = ? AND id < ?))")
		args = append(args, atText, atText, id)
	}
	if f.Type != "" {
		where = append(where, "type = ?")
		args = append(args, f.Type)
	}
	if f.ClientID != "" {
		where = append(where, "client_id = ?")
		args = append(args, f.ClientID)
	}
	if f.UserID != "" {
		where = append(where, "user_id = ?")
		args = append(args, f.UserID)
	}
	if !f.Since.IsZero() {
		where = append(where, "at >= ?")
		args = append(args, ts(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, "at < ?")
		args = append(args, ts(f.Until))
	}
	args = append(args, limit+1)
	rows, err := s.q(ctx).QueryContext(ctx, `SELECT `+auditCols+` FROM audit_events WHERE `+
		strings.Join(where, " AND ")+` ORDER BY at DESC, id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, "", wrap(op, err)
	}
	defer rows.Close()
	var out []storage.AuditEvent
	for rows.Next() {
		var e storage.AuditEvent
		if err := rows.Scan(&e.ID, timeCol{&e.At}, &e.Type, &e.Actor, &e.ClientID, &e.UserID, &e.IP,
			&e.UserAgent, &e.Outcome, jsonCol{&e.Details}); err != nil {
			return nil, "", wrap(op, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", wrap(op, err)
	}
	if len(out) > limit {
		last := out[limit-1]
		return out[:limit], encodeCursor(ts(last.At) + " " + strconv.FormatInt(last.ID, 10)), nil
	}
	return out, "", nil
}

// DeleteAuditBefore deletes up to limit events older than `before`.
func (s *Store) DeleteAuditBefore(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.execCount(ctx, "delete audit", `DELETE FROM audit_events WHERE id IN
		(SELECT id FROM audit_events WHERE at < ? LIMIT ?)`, ts(before), batchLimit(limit))
}

// decodeAuditCursor splits a ListAudit cursor into its time text and id.
func decodeAuditCursor(c string) (string, int64, error) {
	raw, err := decodeCursor(c)
	if err != nil {
		return "", 0, err
	}
	atText, idText, found := strings.Cut(raw, " ")
	if !found {
		return "", 0, errBadCursor
	}
	if _, err := parseTS(atText); err != nil {
		return "", 0, fmt.Errorf("%w: %w", errBadCursor, err)
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("%w: %w", errBadCursor, err)
	}
	return atText, id, nil
}

package sqlite

import (
	"context"
	"time"

	"github.com/sesameauth/sesame/storage"
)

const flowCols = `id, client_id, user_id, session_id, state, request, created_at, expires_at`

// CreateFlow inserts an authorization flow; ErrConflict on duplicate id.
func (s *Store) CreateFlow(ctx context.Context, f storage.AuthFlow) error {
	_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO auth_flows (`+flowCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ID, f.ClientID, f.UserID, f.SessionID, f.State, blob(f.Request), ts(f.CreatedAt), ts(f.ExpiresAt))
	return wrap("create flow", err)
}

// GetFlow returns a flow; ErrNotFound if absent.
func (s *Store) GetFlow(ctx context.Context, id string) (storage.AuthFlow, error) {
	var f storage.AuthFlow
	err := s.q(ctx).QueryRowContext(ctx, `SELECT `+flowCols+` FROM auth_flows WHERE id = ?`, id).
		Scan(&f.ID, &f.ClientID, &f.UserID, &f.SessionID, &f.State, blobCol{&f.Request},
			timeCol{&f.CreatedAt}, timeCol{&f.ExpiresAt})
	return f, wrap("get flow", err)
}

// UpdateFlowState moves a flow out of state `from` with one conditional
// UPDATE, so a replayed form loses (ErrConflict); ErrNotFound if absent.
func (s *Store) UpdateFlowState(ctx context.Context, f storage.AuthFlow, from string) error {
	const op = "update flow state"
	n, err := s.execCount(ctx, op, `UPDATE auth_flows SET user_id = ?, session_id = ?, state = ?,
		request = ? WHERE id = ? AND state = ?`,
		f.UserID, f.SessionID, f.State, blob(f.Request), f.ID, from)
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	var exists bool
	if err := s.q(ctx).QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM auth_flows WHERE id = ?)`, f.ID).
		Scan(&exists); err != nil {
		return wrap(op, err)
	}
	if exists {
		return conflict(op, "flow is no longer in state "+from)
	}
	return notFound(op, "flow")
}

// DeleteFlow removes a flow; a missing flow is not an error (a finished
// flow may be deleted twice by a double-submitted form).
func (s *Store) DeleteFlow(ctx context.Context, id string) error {
	_, err := s.q(ctx).ExecContext(ctx, `DELETE FROM auth_flows WHERE id = ?`, id)
	return wrap("delete flow", err)
}

// DeleteExpiredFlows deletes up to limit flows that expired before `before`.
func (s *Store) DeleteExpiredFlows(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.execCount(ctx, "delete expired flows", `DELETE FROM auth_flows WHERE rowid IN
		(SELECT rowid FROM auth_flows WHERE expires_at < ? LIMIT ?)`, ts(before), batchLimit(limit))
}

package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesameauth/sesame/storage"
)

const flowCols = `id, client_id, user_id, session_id, state, request, created_at, expires_at`

func scanFlow(row pgx.CollectableRow) (storage.AuthFlow, error) {
	var f storage.AuthFlow
	err := row.Scan(&f.ID, &f.ClientID, &f.UserID, &f.SessionID, &f.State, &f.Request, &f.CreatedAt, &f.ExpiresAt)
	if err != nil {
		return storage.AuthFlow{}, err
	}
	f.Request = optBlob(f.Request)
	f.CreatedAt, f.ExpiresAt = f.CreatedAt.UTC(), f.ExpiresAt.UTC()
	return f, nil
}

// CreateFlow inserts an authorization flow; ErrConflict if the id exists.
func (s *Store) CreateFlow(ctx context.Context, f storage.AuthFlow) error {
	_, err := s.q(ctx).Exec(ctx, `INSERT INTO auth_flows (`+flowCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		f.ID, f.ClientID, f.UserID, f.SessionID, f.State, optBlob(f.Request), ts(f.CreatedAt), ts(f.ExpiresAt))
	return mapErr("create flow", err)
}

// GetFlow returns the flow whatever its expiry.
func (s *Store) GetFlow(ctx context.Context, id string) (storage.AuthFlow, error) {
	rows, _ := s.q(ctx).Query(ctx, `SELECT `+flowCols+` FROM auth_flows WHERE id = $1`, id)
	f, err := pgx.CollectExactlyOneRow(rows, scanFlow)
	if err != nil {
		return storage.AuthFlow{}, mapErr("get flow", err)
	}
	return f, nil
}

// UpdateFlowState moves the flow from state `from` to f's values; a
// replayed form (the state already moved on) gets ErrConflict.
func (s *Store) UpdateFlowState(ctx context.Context, f storage.AuthFlow, from string) error {
	const op = "update flow state"
	tag, err := s.q(ctx).Exec(ctx, `UPDATE auth_flows SET user_id = $2, session_id = $3, state = $4, request = $5
		WHERE id = $1 AND state = $6`,
		f.ID, f.UserID, f.SessionID, f.State, optBlob(f.Request), from)
	if err != nil {
		return mapErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return s.exists(ctx, op, `SELECT 1 FROM auth_flows WHERE id = $1`, f.ID)
	}
	return nil
}

// DeleteFlow removes the flow; a missing flow is not an error (the flow
// may have expired and been swept).
func (s *Store) DeleteFlow(ctx context.Context, id string) error {
	_, err := s.q(ctx).Exec(ctx, `DELETE FROM auth_flows WHERE id = $1`, id)
	return mapErr("delete flow", err)
}

// DeleteExpiredFlows deletes up to limit flows that expired before `before`.
func (s *Store) DeleteExpiredFlows(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.deleteBatch(ctx, "delete expired flows", "auth_flows", "expires_at < $1", limit, ts(before))
}

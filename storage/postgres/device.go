package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesameauth/sesame/storage"
)

const deviceCols = `device_code_hash, user_code_hash, client_id, scopes, audience, state, user_id,
	session_id, granted_scopes, decided_at, interval_ms, last_polled_at, polls, created_at, expires_at`

func scanDevice(row pgx.CollectableRow) (storage.DeviceGrant, error) { return scanDeviceRow(row) }

// scanDeviceRow scans deviceCols after the destinations in lead.
func scanDeviceRow(row interface{ Scan(...any) error }, lead ...any) (storage.DeviceGrant, error) {
	var (
		g        storage.DeviceGrant
		state    string
		interval int64
	)
	err := row.Scan(append(lead, &g.DeviceCodeHash, &g.UserCodeHash, &g.ClientID, &g.Scopes, &g.Audience, &state,
		&g.UserID, &g.SessionID, &g.GrantedScopes, &g.DecidedAt, &interval, &g.LastPolledAt, &g.Polls,
		&g.CreatedAt, &g.ExpiresAt)...)
	if err != nil {
		return storage.DeviceGrant{}, err
	}
	g.State, g.Interval = storage.DeviceState(state), time.Duration(interval)*time.Millisecond
	g.Scopes, g.Audience, g.GrantedScopes = list(g.Scopes), list(g.Audience), list(g.GrantedScopes)
	g.DecidedAt, g.LastPolledAt = utcPtr(g.DecidedAt), utcPtr(g.LastPolledAt)
	g.CreatedAt, g.ExpiresAt = g.CreatedAt.UTC(), g.ExpiresAt.UTC()
	return g, nil
}

// CreateDeviceGrant inserts; ErrConflict if either code hash exists.
func (s *Store) CreateDeviceGrant(ctx context.Context, g storage.DeviceGrant) error {
	_, err := s.q(ctx).Exec(ctx, `INSERT INTO device_grants (`+deviceCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		g.DeviceCodeHash, g.UserCodeHash, g.ClientID, arr(g.Scopes), arr(g.Audience), string(g.State),
		g.UserID, g.SessionID, arr(g.GrantedScopes), tsPtr(g.DecidedAt), g.Interval.Milliseconds(),
		tsPtr(g.LastPolledAt), g.Polls, ts(g.CreatedAt), ts(g.ExpiresAt))
	return mapErr("create device grant", err)
}

func (s *Store) getDevice(ctx context.Context, op, where, key string) (storage.DeviceGrant, error) {
	rows, _ := s.q(ctx).Query(ctx, `SELECT `+deviceCols+` FROM device_grants WHERE `+where+` = $1`, key)
	g, err := pgx.CollectExactlyOneRow(rows, scanDevice)
	if err != nil {
		return storage.DeviceGrant{}, mapErr(op, err)
	}
	return g, nil
}

// GetDeviceGrant returns the grant of a device code hash; ErrNotFound if absent.
func (s *Store) GetDeviceGrant(ctx context.Context, deviceCodeHash string) (storage.DeviceGrant, error) {
	return s.getDevice(ctx, "get device grant", "device_code_hash", deviceCodeHash)
}

// GetDeviceGrantByUserCode returns the grant of a user code hash; ErrNotFound if absent.
func (s *Store) GetDeviceGrantByUserCode(ctx context.Context, userCodeHash string) (storage.DeviceGrant, error) {
	return s.getDevice(ctx, "get device grant by user code", "user_code_hash", userCodeHash)
}

// DecideDeviceGrant records the user's decision with one conditional
// UPDATE (pending and unexpired), so a second decision loses.
func (s *Store) DecideDeviceGrant(ctx context.Context, userCodeHash string, d storage.DeviceDecision) (storage.DeviceGrant, error) {
	const op = "decide device grant"
	rows, _ := s.q(ctx).Query(ctx, `UPDATE device_grants SET state = $2, user_id = $3, session_id = $4,
		granted_scopes = $5, decided_at = $6
		WHERE user_code_hash = $1 AND state = 'pending' AND expires_at > $6
		RETURNING `+deviceCols,
		userCodeHash, string(d.State), d.UserID, d.SessionID, arr(d.GrantedScopes), ts(d.At))
	g, err := pgx.CollectExactlyOneRow(rows, scanDevice)
	if err == nil {
		return g, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return storage.DeviceGrant{}, mapErr(op, err)
	}
	g, err = s.GetDeviceGrantByUserCode(ctx, userCodeHash)
	if err != nil {
		return g, err
	}
	return g, conflict(op)
}

// PollDeviceGrant records a poll in one statement: the row lock orders
// concurrent polls, and each sees the previous one's last_polled_at.
func (s *Store) PollDeviceGrant(ctx context.Context, deviceCodeHash string, at time.Time, bump time.Duration) (storage.DeviceGrant, bool, error) {
	const op = "poll device grant"
	// The CTE reads the row before the update (under its lock, FOR
	// UPDATE) so the answer can say whether this poll came too early.
	rows, _ := s.q(ctx).Query(ctx, `WITH prev AS (
			SELECT device_code_hash, (last_polled_at IS NOT NULL
				AND last_polled_at + interval_ms * interval '1 millisecond' > $2) AS too_fast
			FROM device_grants WHERE device_code_hash = $1 FOR UPDATE)
		UPDATE device_grants d SET last_polled_at = $2, polls = d.polls + 1,
			interval_ms = d.interval_ms + CASE WHEN prev.too_fast THEN $3::bigint ELSE 0 END
		FROM prev WHERE d.device_code_hash = prev.device_code_hash
		RETURNING prev.too_fast, `+deviceColsOf("d."),
		deviceCodeHash, ts(at), bump.Milliseconds())
	var tooFast bool
	g, err := pgx.CollectExactlyOneRow(rows, func(row pgx.CollectableRow) (storage.DeviceGrant, error) {
		return scanDeviceRow(row, &tooFast)
	})
	if err != nil {
		return storage.DeviceGrant{}, false, mapErr(op, err)
	}
	return g, tooFast, nil
}

// RedeemDeviceGrant moves an approved grant to redeemed (conditional UPDATE).
func (s *Store) RedeemDeviceGrant(ctx context.Context, deviceCodeHash string) error {
	const op = "redeem device grant"
	tag, err := s.q(ctx).Exec(ctx, `UPDATE device_grants SET state = 'redeemed'
		WHERE device_code_hash = $1 AND state = 'approved'`, deviceCodeHash)
	if err != nil {
		return mapErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return s.exists(ctx, op, `SELECT 1 FROM device_grants WHERE device_code_hash = $1`, deviceCodeHash)
	}
	return nil
}

// DeleteExpiredDeviceGrants deletes up to limit grants that expired before `before`.
func (s *Store) DeleteExpiredDeviceGrants(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.deleteBatch(ctx, "delete expired device grants", "device_grants", "expires_at < $1", limit, ts(before))
}

// deviceColsOf is deviceCols qualified with a table alias.
func deviceColsOf(alias string) string {
	cols := strings.Split(deviceCols, ",")
	for i, c := range cols {
		cols[i] = alias + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

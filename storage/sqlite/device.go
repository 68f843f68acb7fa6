package sqlite

import (
	"context"
	"time"

	"github.com/sesameauth/sesame/storage"
)

const deviceCols = `device_code_hash, user_code_hash, client_id, scopes, audience, state, user_id,
	session_id, granted_scopes, decided_at, interval_ms, last_polled_at, polls, created_at, expires_at`

func scanDevice(row interface{ Scan(...any) error }) (storage.DeviceGrant, error) {
	var (
		g        storage.DeviceGrant
		state    string
		interval int64
	)
	err := row.Scan(&g.DeviceCodeHash, &g.UserCodeHash, &g.ClientID, jsonCol{&g.Scopes}, jsonCol{&g.Audience},
		&state, &g.UserID, &g.SessionID, jsonCol{&g.GrantedScopes}, nullTimeCol{&g.DecidedAt}, &interval,
		nullTimeCol{&g.LastPolledAt}, &g.Polls, timeCol{&g.CreatedAt}, timeCol{&g.ExpiresAt})
	g.State, g.Interval = storage.DeviceState(state), time.Duration(interval)*time.Millisecond
	g.Scopes, g.Audience, g.GrantedScopes = nilIfEmpty(g.Scopes), nilIfEmpty(g.Audience), nilIfEmpty(g.GrantedScopes)
	return g, err
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// CreateDeviceGrant inserts; ErrConflict if either code hash exists.
func (s *Store) CreateDeviceGrant(ctx context.Context, g storage.DeviceGrant) error {
	_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO device_grants (`+deviceCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		g.DeviceCodeHash, g.UserCodeHash, g.ClientID, js(nilIfEmpty(g.Scopes)), js(nilIfEmpty(g.Audience)),
		string(g.State), g.UserID, g.SessionID, js(nilIfEmpty(g.GrantedScopes)), tsPtr(g.DecidedAt),
		g.Interval.Milliseconds(), tsPtr(g.LastPolledAt), g.Polls, ts(g.CreatedAt), ts(g.ExpiresAt))
	return wrap("create device grant", err)
}

// GetDeviceGrant returns the grant of a device code hash; ErrNotFound if absent.
func (s *Store) GetDeviceGrant(ctx context.Context, deviceCodeHash string) (storage.DeviceGrant, error) {
	g, err := scanDevice(s.q(ctx).QueryRowContext(ctx, `SELECT `+deviceCols+` FROM device_grants
		WHERE device_code_hash = ?`, deviceCodeHash))
	return g, wrap("get device grant", err)
}

// GetDeviceGrantByUserCode returns the grant of a user code hash; ErrNotFound if absent.
func (s *Store) GetDeviceGrantByUserCode(ctx context.Context, userCodeHash string) (storage.DeviceGrant, error) {
	g, err := scanDevice(s.q(ctx).QueryRowContext(ctx, `SELECT `+deviceCols+` FROM device_grants
		WHERE user_code_hash = ?`, userCodeHash))
	return g, wrap("get device grant by user code", err)
}

// DecideDeviceGrant records the user's decision with one conditional
// UPDATE (pending and unexpired), so a second decision loses.
func (s *Store) DecideDeviceGrant(ctx context.Context, userCodeHash string, d storage.DeviceDecision) (storage.DeviceGrant, error) {
	const op = "decide device grant"
	n, err := s.execCount(ctx, op, `UPDATE device_grants SET state = ?, user_id = ?, session_id = ?,
		granted_scopes = ?, decided_at = ? WHERE user_code_hash = ? AND state = 'pending' AND expires_at > ?`,
		string(d.State), d.UserID, d.SessionID, js(nilIfEmpty(d.GrantedScopes)), ts(d.At), userCodeHash, ts(d.At))
	if err != nil {
		return storage.DeviceGrant{}, err
	}
	g, err := s.GetDeviceGrantByUserCode(ctx, userCodeHash)
	if err != nil {
		return g, wrap(op, err)
	}
	if n == 0 {
		return g, conflict(op, "device grant is no longer pending")
	}
	return g, nil
}

// PollDeviceGrant reads the grant, then writes the poll only if no other
// poll was written meanwhile (polls is the compare-and-swap value).
func (s *Store) PollDeviceGrant(ctx context.Context, deviceCodeHash string, at time.Time, bump time.Duration) (storage.DeviceGrant, bool, error) {
	const op = "poll device grant"
	g, err := s.GetDeviceGrant(ctx, deviceCodeHash)
	if err != nil {
		return g, false, err
	}
	tooFast := g.LastPolledAt != nil && at.Sub(*g.LastPolledAt) < g.Interval
	interval := g.Interval
	if tooFast {
		interval += bump
	}
	n, err := s.execCount(ctx, op, `UPDATE device_grants SET last_polled_at = ?, polls = polls + 1,
		interval_ms = ? WHERE device_code_hash = ? AND polls = ?`,
		ts(at), interval.Milliseconds(), deviceCodeHash, g.Polls)
	if err != nil {
		return g, false, err
	}
	if n == 0 {
		// Another poll of the same code was written between our read
		// and our write: two polls at once are too fast by definition.
		// It counts as a poll too (polls moves, so a third poller's
		// compare-and-swap sees it).
		_, err := s.execCount(ctx, op, `UPDATE device_grants SET interval_ms = interval_ms + ?,
			polls = polls + 1, last_polled_at = ? WHERE device_code_hash = ?`,
			bump.Milliseconds(), ts(at), deviceCodeHash)
		if err != nil {
			return g, false, err
		}
		g, err = s.GetDeviceGrant(ctx, deviceCodeHash)
		return g, true, err
	}
	g, err = s.GetDeviceGrant(ctx, deviceCodeHash)
	return g, tooFast, err
}

// RedeemDeviceGrant moves an approved grant to redeemed (conditional UPDATE).
func (s *Store) RedeemDeviceGrant(ctx context.Context, deviceCodeHash string) error {
	const op = "redeem device grant"
	n, err := s.execCount(ctx, op, `UPDATE device_grants SET state = 'redeemed'
		WHERE device_code_hash = ? AND state = 'approved'`, deviceCodeHash)
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	if _, err := s.GetDeviceGrant(ctx, deviceCodeHash); err != nil {
		return wrap(op, err)
	}
	return conflict(op, "device grant is not approved")
}

// DeleteExpiredDeviceGrants deletes up to limit grants that expired before `before`.
func (s *Store) DeleteExpiredDeviceGrants(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.execCount(ctx, "delete expired device grants", `DELETE FROM device_grants WHERE rowid IN
		(SELECT rowid FROM device_grants WHERE expires_at < ? LIMIT ?)`, ts(before), batchLimit(limit))
}

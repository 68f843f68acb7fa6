package storage

import (
	"context"
	"time"
)

// DeviceState is the life cycle of a device authorization (RFC 8628).
type DeviceState string

const (
	DevicePending  DeviceState = "pending"  // waiting for the user at the verification page
	DeviceApproved DeviceState = "approved" // the user allowed it; the device may redeem it once
	DeviceDenied   DeviceState = "denied"   // the user refused it
	DeviceRedeemed DeviceState = "redeemed" // tokens were issued; nothing more to do
)

// DeviceGrant is one device authorization request. Both codes reach
// storage only as hashes computed by the caller: DeviceCodeHash is the
// key the polling device presents, UserCodeHash the key the user types.
type DeviceGrant struct {
	DeviceCodeHash string
	UserCodeHash   string
	ClientID       string
	Scopes         []string // requested
	Audience       []string // requested
	State          DeviceState
	// Set by the decision (DecideDeviceGrant).
	UserID        string
	SessionID     string
	GrantedScopes []string
	DecidedAt     *time.Time
	// Interval is the minimum time between two polls; a poll sooner than
	// that raises it (RFC 8628 §3.5 slow_down).
	Interval time.Duration
	// LastPolledAt is the time of the last poll (nil: never polled);
	// Polls counts them.
	LastPolledAt *time.Time
	Polls        int
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

// DeviceDecision is what the user decided at the verification page.
type DeviceDecision struct {
	State         DeviceState // DeviceApproved or DeviceDenied
	UserID        string
	SessionID     string
	GrantedScopes []string
	At            time.Time
}

// DeviceStore keeps device authorizations.
type DeviceStore interface {
	// CreateDeviceGrant inserts; ErrConflict if either code hash exists.
	CreateDeviceGrant(ctx context.Context, g DeviceGrant) error
	// GetDeviceGrant returns the grant of a device code hash whatever its
	// state or expiry; ErrNotFound if absent.
	GetDeviceGrant(ctx context.Context, deviceCodeHash string) (DeviceGrant, error)
	// GetDeviceGrantByUserCode is the same by user code hash.
	GetDeviceGrantByUserCode(ctx context.Context, userCodeHash string) (DeviceGrant, error)
	// DecideDeviceGrant moves the pending grant of userCodeHash that has
	// not expired at d.At to d.State, recording the user, session and
	// granted scopes. ErrConflict if it is no longer pending or has
	// expired (a second decision loses), ErrNotFound if absent.
	DecideDeviceGrant(ctx context.Context, userCodeHash string, d DeviceDecision) (DeviceGrant, error)
	// PollDeviceGrant records one poll of the device code at `at`. A poll
	// sooner than Interval after the previous one (or concurrent with
	// another poll) is too fast: the interval grows by bump and tooFast
	// is true. It returns the grant as it is after the poll; ErrNotFound
	// if absent.
	PollDeviceGrant(ctx context.Context, deviceCodeHash string, at time.Time, bump time.Duration) (g DeviceGrant, tooFast bool, err error)
	// RedeemDeviceGrant moves an approved grant to redeemed; exactly one
	// of several concurrent callers wins, the others get ErrConflict.
	// ErrNotFound if absent.
	RedeemDeviceGrant(ctx context.Context, deviceCodeHash string) error
	// DeleteExpiredDeviceGrants deletes up to limit grants whose
	// ExpiresAt is before `before`.
	DeleteExpiredDeviceGrants(ctx context.Context, before time.Time, limit int) (int, error)
}

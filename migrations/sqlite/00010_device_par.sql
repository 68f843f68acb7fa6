-- Device authorization grant (RFC 8628) and pushed authorization requests
-- (RFC 9126). Both codes of a device grant are stored only as hashes
-- (the device code hash is the key; the user code hash is unique while
-- the row lives). interval_ms grows with slow_down; polls is the
-- compare-and-swap counter of PollDeviceGrant. No foreign keys (00001's
-- convention). Pushed requests live in tokens (kind 'par'); a client may
-- require them.

-- +goose Up
CREATE TABLE device_grants (
    device_code_hash TEXT NOT NULL PRIMARY KEY,
    user_code_hash   TEXT NOT NULL,
    client_id        TEXT NOT NULL,
    scopes           TEXT NOT NULL DEFAULT '[]',
    audience         TEXT NOT NULL DEFAULT '[]',
    state            TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'redeemed')),
    user_id          TEXT NOT NULL DEFAULT '',
    session_id       TEXT NOT NULL DEFAULT '',
    granted_scopes   TEXT NOT NULL DEFAULT '[]',
    decided_at       TEXT,
    interval_ms      INTEGER NOT NULL,
    last_polled_at   TEXT,
    polls            INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    expires_at       TEXT NOT NULL
);
CREATE UNIQUE INDEX device_grants_user_code_uq ON device_grants (user_code_hash);
CREATE INDEX device_grants_expires_at_idx ON device_grants (expires_at);

ALTER TABLE clients ADD COLUMN require_pushed_authorization_requests INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE clients DROP COLUMN require_pushed_authorization_requests;
DROP TABLE device_grants;

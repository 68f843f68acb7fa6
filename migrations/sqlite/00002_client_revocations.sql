-- Client-wide token revocation: every client_credentials token of a client
-- issued at or before revoked_at is revoked. Those tokens have no grant row
-- (no write per JWT), so one instant per client is what revokes them
-- together. revoked_at follows 00001's time convention (fixed-width UTC
-- TEXT), which makes MAX() chronological for the keep-the-later upsert.

-- +goose Up
CREATE TABLE client_revocations (
    client_id  TEXT NOT NULL PRIMARY KEY,
    revoked_at TEXT NOT NULL
);

-- +goose Down
DROP TABLE client_revocations;

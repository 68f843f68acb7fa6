-- Client-wide token revocation: every client_credentials token of a client
-- issued at or before revoked_at is revoked. Those tokens have no grant row
-- (no write per JWT), so one instant per client is what revokes them
-- together. Like every id in 00001 there is no foreign key to clients: the
-- instant must outlive a deleted client whose JWTs are still unexpired.

-- +goose Up
CREATE TABLE client_revocations (
    client_id  text PRIMARY KEY,
    revoked_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE client_revocations;

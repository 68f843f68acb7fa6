-- Second factors and passkeys (SPEC part two). A TOTP secret is sealed
-- with the system secret before it reaches the database; a WebAuthn
-- credential is public data. counter is the replay fence: the last TOTP
-- time step accepted, or the authenticator's signature counter. Recovery
-- codes are stored as keyed hashes only. No foreign keys (00001's
-- convention): deleting a user removes its factors and codes.
-- clients.require_mfa: the client's authorizations need two factors.

-- +goose Up
CREATE TABLE user_factors (
    id            TEXT NOT NULL PRIMARY KEY,
    user_id       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    secret        BLOB NOT NULL,
    credential_id TEXT,
    counter       INTEGER NOT NULL DEFAULT 0,
    confirmed     INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT
);
CREATE INDEX user_factors_user_idx ON user_factors (user_id, created_at);
CREATE UNIQUE INDEX user_factors_credential_uq ON user_factors (credential_id) WHERE credential_id IS NOT NULL;

CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL,
    code_hash  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    used_at    TEXT,
    PRIMARY KEY (user_id, code_hash)
);

ALTER TABLE clients ADD COLUMN require_mfa INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE clients DROP COLUMN require_mfa;
DROP TABLE recovery_codes;
DROP TABLE user_factors;

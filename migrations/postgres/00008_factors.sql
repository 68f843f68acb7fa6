-- Second factors and passkeys (SPEC part two). A TOTP secret is sealed
-- with the system secret before it reaches the database; a WebAuthn
-- credential is public data. counter is the replay fence: the last TOTP
-- time step accepted, or the authenticator's signature counter. Recovery
-- codes are stored as keyed hashes only. No foreign keys (00001's
-- convention): deleting a user removes its factors and codes.
-- clients.require_mfa: the client's authorizations need two factors.

-- +goose Up
CREATE TABLE user_factors (
    id            text PRIMARY KEY,
    user_id       text NOT NULL,
    kind          text NOT NULL,
    name          text NOT NULL DEFAULT '',
    secret        bytea NOT NULL,
    credential_id text,
    counter       bigint NOT NULL DEFAULT 0,
    confirmed     boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL,
    last_used_at  timestamptz
);
CREATE INDEX user_factors_user_idx ON user_factors (user_id, created_at);
CREATE UNIQUE INDEX user_factors_credential_uq ON user_factors (credential_id) WHERE credential_id IS NOT NULL;

CREATE TABLE recovery_codes (
    user_id    text NOT NULL,
    code_hash  text NOT NULL,
    created_at timestamptz NOT NULL,
    used_at    timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

ALTER TABLE clients ADD COLUMN require_mfa boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE clients DROP COLUMN require_mfa;
DROP TABLE recovery_codes;
DROP TABLE user_factors;

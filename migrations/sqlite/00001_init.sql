-- Sesame schema for SQLite.
--
-- Conventions (the sqlite backend relies on them):
--   * times are TEXT in UTC, fixed-width "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ", so
--     lexicographic order is chronological and nanoseconds round-trip;
--     nullable times are NULL when unset. Columns are declared TEXT (not
--     DATETIME) so the driver hands back the stored string untouched.
--   * string lists and maps are JSON text; opaque bytes are BLOB.
--   * booleans are INTEGER 0/1.
--   * no foreign keys: records reference each other by id only, and the
--     application decides what to clean up when a user or client goes.

-- +goose Up
CREATE TABLE users (
    id             TEXT    NOT NULL PRIMARY KEY,
    username       TEXT    NOT NULL,
    -- Go strings.ToLower(username): SQLite's lower() folds ASCII only, so
    -- the folded form is computed by the backend and made unique here.
    username_lower TEXT    NOT NULL,
    email          TEXT    NOT NULL DEFAULT '',
    email_verified INTEGER NOT NULL DEFAULT 0,
    name           TEXT    NOT NULL DEFAULT '',
    -- lower-cased username, email and name, NUL-separated, for the
    -- case-insensitive substring filter of ListUsers.
    search         TEXT    NOT NULL DEFAULT '',
    password_hash  TEXT    NOT NULL DEFAULT '',
    disabled       INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL
);
CREATE UNIQUE INDEX users_username_lower_uq ON users (username_lower);

CREATE TABLE clients (
    id                           TEXT    NOT NULL PRIMARY KEY,
    secret_hash                  TEXT    NOT NULL DEFAULT '',
    rotated_secret_hashes        TEXT    NOT NULL DEFAULT 'null',
    name                         TEXT    NOT NULL DEFAULT '',
    name_lower                   TEXT    NOT NULL DEFAULT '',
    description                  TEXT    NOT NULL DEFAULT '',
    redirect_uris                TEXT    NOT NULL DEFAULT 'null',
    post_logout_redirect_uris    TEXT    NOT NULL DEFAULT 'null',
    grant_types                  TEXT    NOT NULL DEFAULT 'null',
    response_types               TEXT    NOT NULL DEFAULT 'null',
    scopes                       TEXT    NOT NULL DEFAULT 'null',
    audience                     TEXT    NOT NULL DEFAULT 'null',
    token_endpoint_auth_method   TEXT    NOT NULL DEFAULT '',
    public                       INTEGER NOT NULL DEFAULT 0,
    skip_consent                 INTEGER NOT NULL DEFAULT 0,
    access_token_format          TEXT    NOT NULL DEFAULT '',
    allowed_cors_origins         TEXT    NOT NULL DEFAULT 'null',
    logo_uri                     TEXT    NOT NULL DEFAULT '',
    client_uri                   TEXT    NOT NULL DEFAULT '',
    policy_uri                   TEXT    NOT NULL DEFAULT '',
    terms_uri                    TEXT    NOT NULL DEFAULT '',
    contacts                     TEXT    NOT NULL DEFAULT 'null',
    jwks                         TEXT    NOT NULL DEFAULT '',
    jwks_uri                     TEXT    NOT NULL DEFAULT '',
    id_token_signed_response_alg TEXT    NOT NULL DEFAULT '',
    -- lifespans in nanoseconds, 0 = server default
    access_token_lifespan        INTEGER NOT NULL DEFAULT 0,
    refresh_token_lifespan       INTEGER NOT NULL DEFAULT 0,
    id_token_lifespan            INTEGER NOT NULL DEFAULT 0,
    auth_code_lifespan           INTEGER NOT NULL DEFAULT 0,
    registration_token_hash      TEXT    NOT NULL DEFAULT '',
    metadata                     TEXT    NOT NULL DEFAULT '',
    created_at                   TEXT    NOT NULL,
    updated_at                   TEXT    NOT NULL
);

CREATE TABLE tokens (
    kind             TEXT    NOT NULL,
    signature        TEXT    NOT NULL,
    request_id       TEXT    NOT NULL,
    client_id        TEXT    NOT NULL DEFAULT '',
    subject          TEXT    NOT NULL DEFAULT '',
    active           INTEGER NOT NULL DEFAULT 1,
    requested_at     TEXT    NOT NULL,
    expires_at       TEXT    NOT NULL,
    data             BLOB,
    access_signature TEXT    NOT NULL DEFAULT '',
    first_used_at    TEXT,
    successor        BLOB,
    PRIMARY KEY (kind, signature)
);
-- requested_at last: ListByRequestID reads a family oldest first without a sort.
CREATE INDEX tokens_kind_request_id_idx ON tokens (kind, request_id, requested_at);
CREATE INDEX tokens_expires_at_idx ON tokens (expires_at);

CREATE TABLE grants (
    request_id    TEXT NOT NULL PRIMARY KEY,
    client_id     TEXT NOT NULL DEFAULT '',
    subject       TEXT NOT NULL DEFAULT '',
    session_id    TEXT NOT NULL DEFAULT '',
    grant_type    TEXT NOT NULL DEFAULT '',
    scopes        TEXT NOT NULL DEFAULT 'null',
    audience      TEXT NOT NULL DEFAULT 'null',
    created_at    TEXT NOT NULL,
    last_used_at  TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    revoked_at    TEXT,
    revoke_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX grants_subject_idx ON grants (subject);
CREATE INDEX grants_client_id_idx ON grants (client_id);
CREATE INDEX grants_expires_at_idx ON grants (expires_at);

CREATE TABLE nonces (
    ns         TEXT NOT NULL,
    value      TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (ns, value)
);
CREATE INDEX nonces_expires_at_idx ON nonces (expires_at);

CREATE TABLE signing_keys (
    kid          TEXT NOT NULL PRIMARY KEY,
    alg          TEXT NOT NULL,
    use          TEXT NOT NULL DEFAULT 'sig',
    state        TEXT NOT NULL CHECK (state IN ('pending', 'active', 'retired')),
    public_jwk   BLOB,
    private_enc  BLOB,
    created_at   TEXT NOT NULL,
    activated_at TEXT,
    retired_at   TEXT,
    retire_after TEXT
);
-- At most one active key per algorithm, whatever a buggy caller does.
CREATE UNIQUE INDEX signing_keys_one_active_uq ON signing_keys (alg) WHERE state = 'active';

CREATE TABLE login_sessions (
    id         TEXT NOT NULL PRIMARY KEY,
    user_id    TEXT NOT NULL,
    auth_time  TEXT NOT NULL,
    amr        TEXT NOT NULL DEFAULT 'null',
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX login_sessions_user_id_idx ON login_sessions (user_id);
CREATE INDEX login_sessions_expires_at_idx ON login_sessions (expires_at);

CREATE TABLE consents (
    user_id    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scopes     TEXT NOT NULL DEFAULT 'null',
    audience   TEXT NOT NULL DEFAULT 'null',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX consents_client_id_idx ON consents (client_id);

CREATE TABLE auth_flows (
    id         TEXT NOT NULL PRIMARY KEY,
    client_id  TEXT NOT NULL DEFAULT '',
    user_id    TEXT NOT NULL DEFAULT '',
    session_id TEXT NOT NULL DEFAULT '',
    state      TEXT NOT NULL DEFAULT '',
    request    BLOB,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX auth_flows_expires_at_idx ON auth_flows (expires_at);

CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    type       TEXT NOT NULL,
    actor      TEXT NOT NULL DEFAULT '',
    client_id  TEXT NOT NULL DEFAULT '',
    user_id    TEXT NOT NULL DEFAULT '',
    ip         TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    outcome    TEXT NOT NULL DEFAULT '',
    details    TEXT NOT NULL DEFAULT 'null'
);
-- Lists run newest first on (at, id); an index on a rowid table carries the
-- rowid (= id), so each of these serves ORDER BY at DESC, id DESC.
CREATE INDEX audit_events_at_idx ON audit_events (at);
CREATE INDEX audit_events_type_at_idx ON audit_events (type, at);
CREATE INDEX audit_events_client_id_at_idx ON audit_events (client_id, at);
CREATE INDEX audit_events_user_id_at_idx ON audit_events (user_id, at);

CREATE TABLE registration_tokens (
    id          TEXT    NOT NULL PRIMARY KEY,
    description TEXT    NOT NULL DEFAULT '',
    max_uses    INTEGER NOT NULL DEFAULT 0,
    uses        INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL
);

CREATE TABLE failure_counters (
    key          TEXT    NOT NULL PRIMARY KEY,
    failures     INTEGER NOT NULL,
    first_at     TEXT    NOT NULL,
    last_at      TEXT    NOT NULL,
    locked_until TEXT
);

-- +goose Down
DROP TABLE failure_counters;
DROP TABLE registration_tokens;
DROP TABLE audit_events;
DROP TABLE auth_flows;
DROP TABLE consents;
DROP TABLE login_sessions;
DROP TABLE signing_keys;
DROP TABLE nonces;
DROP TABLE grants;
DROP TABLE tokens;
DROP TABLE clients;
DROP TABLE users;

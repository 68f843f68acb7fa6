-- Sesame's Postgres schema, version 1.
--
-- Conventions: every time is timestamptz (stored and read as UTC, microsecond
-- precision); slices are text[] (never NULL, '{}' when empty); opaque blobs
-- are bytea stored verbatim; free text defaults to '' so that NULL only ever
-- means "not set" for optional times. Keys that lists page through (user
-- names, client ids) are compared in the "C" collation so that ordering is byte order on
-- every server whatever its locale, the same order the SQLite backend uses.
-- There are no foreign keys between aggregates: each aggregate is written by
-- its own use case and cleaned up by expiry, and a cascade here would hide
-- deletions the application layer must decide on (and audit).

-- +goose Up
CREATE TABLE users (
    id             text COLLATE "C" PRIMARY KEY,
    username       text NOT NULL,
    email          text NOT NULL DEFAULT '',
    email_verified boolean NOT NULL DEFAULT false,
    name           text NOT NULL DEFAULT '',
    password_hash  text NOT NULL DEFAULT '',
    disabled       boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
-- Usernames are unique case-insensitively (lower() folds with the database's
-- ctype, so non-ASCII letters fold too on a UTF-8 locale). The index is in
-- byte order ("C"): the same index serves the case-insensitive lookup and the
-- keyset pagination of ListUsers, whose order must not depend on the locale.
CREATE UNIQUE INDEX users_username_lower_key ON users ((lower(username) COLLATE "C"));

CREATE TABLE clients (
    id                           text COLLATE "C" PRIMARY KEY,
    secret_hash                  text NOT NULL DEFAULT '',
    rotated_secret_hashes        text[] NOT NULL DEFAULT '{}',
    name                         text NOT NULL DEFAULT '',
    description                  text NOT NULL DEFAULT '',
    redirect_uris                text[] NOT NULL DEFAULT '{}',
    post_logout_redirect_uris    text[] NOT NULL DEFAULT '{}',
    grant_types                  text[] NOT NULL DEFAULT '{}',
    response_types               text[] NOT NULL DEFAULT '{}',
    scopes                       text[] NOT NULL DEFAULT '{}',
    audience                     text[] NOT NULL DEFAULT '{}',
    token_endpoint_auth_method   text NOT NULL DEFAULT '',
    public                       boolean NOT NULL DEFAULT false,
    skip_consent                 boolean NOT NULL DEFAULT false,
    access_token_format          text NOT NULL DEFAULT '',
    allowed_cors_origins         text[] NOT NULL DEFAULT '{}',
    logo_uri                     text NOT NULL DEFAULT '',
    client_uri                   text NOT NULL DEFAULT '',
    policy_uri                   text NOT NULL DEFAULT '',
    terms_uri                    text NOT NULL DEFAULT '',
    contacts                     text[] NOT NULL DEFAULT '{}',
    -- JWKS and metadata are kept as text, not jsonb: the caller owns the
    -- JSON and gets back exactly the bytes it stored.
    jwks                         text NOT NULL DEFAULT '',
    jwks_uri                     text NOT NULL DEFAULT '',
    id_token_signed_response_alg text NOT NULL DEFAULT '',
    -- Lifespans in nanoseconds (time.Duration), 0 = server default.
    access_token_lifespan_ns     bigint NOT NULL DEFAULT 0,
    refresh_token_lifespan_ns    bigint NOT NULL DEFAULT 0,
    id_token_lifespan_ns         bigint NOT NULL DEFAULT 0,
    auth_code_lifespan_ns        bigint NOT NULL DEFAULT 0,
    registration_token_hash      text NOT NULL DEFAULT '',
    metadata                     text NOT NULL DEFAULT '',
    created_at                   timestamptz NOT NULL,
    updated_at                   timestamptz NOT NULL
);

-- Every stored credential (code, access/refresh token, PKCE and OIDC
-- request); each kind is its own key space.
CREATE TABLE tokens (
    kind             text NOT NULL,
    signature        text NOT NULL,
    -- seq orders a family's records by insertion when requested_at ties.
    seq              bigint GENERATED ALWAYS AS IDENTITY,
    request_id       text NOT NULL,
    client_id        text NOT NULL DEFAULT '',
    subject          text NOT NULL DEFAULT '',
    active           boolean NOT NULL,
    requested_at     timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    data             bytea NOT NULL,
    access_signature text NOT NULL DEFAULT '',
    first_used_at    timestamptz,
    successor        bytea,
    PRIMARY KEY (kind, signature)
);
CREATE INDEX tokens_request_id_idx ON tokens (request_id, kind);
CREATE INDEX tokens_expires_at_idx ON tokens (expires_at);

CREATE TABLE grants (
    request_id    text PRIMARY KEY,
    client_id     text NOT NULL DEFAULT '',
    subject       text NOT NULL DEFAULT '',
    session_id    text NOT NULL DEFAULT '',
    grant_type    text NOT NULL DEFAULT '',
    scopes        text[] NOT NULL DEFAULT '{}',
    audience      text[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL,
    last_used_at  timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoke_reason text NOT NULL DEFAULT ''
);
CREATE INDEX grants_subject_idx ON grants (subject);
CREATE INDEX grants_client_id_idx ON grants (client_id);
CREATE INDEX grants_expires_at_idx ON grants (expires_at);

CREATE TABLE nonces (
    ns         text NOT NULL,
    value      text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (ns, value)
);
CREATE INDEX nonces_expires_at_idx ON nonces (expires_at);

CREATE TABLE signing_keys (
    kid          text PRIMARY KEY,
    alg          text NOT NULL,
    use          text NOT NULL DEFAULT 'sig',
    state        text NOT NULL CHECK (state IN ('pending', 'active', 'retired')),
    public_jwk   bytea NOT NULL,
    private_enc  bytea NOT NULL,
    created_at   timestamptz NOT NULL,
    activated_at timestamptz,
    retired_at   timestamptz,
    retire_after timestamptz
);
-- At most one active key per algorithm: the backstop that makes two
-- concurrent first activations (no previous key to lock) conflict.
CREATE UNIQUE INDEX signing_keys_one_active_idx ON signing_keys (alg) WHERE state = 'active';

CREATE TABLE login_sessions (
    id         text PRIMARY KEY,
    user_id    text NOT NULL,
    auth_time  timestamptz NOT NULL,
    amr        text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX login_sessions_user_id_idx ON login_sessions (user_id);
CREATE INDEX login_sessions_expires_at_idx ON login_sessions (expires_at);

CREATE TABLE consents (
    user_id    text NOT NULL,
    client_id  text COLLATE "C" NOT NULL,
    scopes     text[] NOT NULL DEFAULT '{}',
    audience   text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX consents_client_id_idx ON consents (client_id);

CREATE TABLE auth_flows (
    id         text PRIMARY KEY,
    client_id  text NOT NULL DEFAULT '',
    user_id    text NOT NULL DEFAULT '',
    session_id text NOT NULL DEFAULT '',
    state      text NOT NULL DEFAULT '',
    request    bytea,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX auth_flows_expires_at_idx ON auth_flows (expires_at);

CREATE TABLE audit_events (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL,
    type       text NOT NULL DEFAULT '',
    actor      text NOT NULL DEFAULT '',
    client_id  text NOT NULL DEFAULT '',
    user_id    text NOT NULL DEFAULT '',
    ip         text NOT NULL DEFAULT '',
    user_agent text NOT NULL DEFAULT '',
    outcome    text NOT NULL DEFAULT '',
    details    jsonb
);
CREATE INDEX audit_events_at_idx ON audit_events (at);
CREATE INDEX audit_events_client_id_idx ON audit_events (client_id, id) WHERE client_id <> '';
CREATE INDEX audit_events_user_id_idx ON audit_events (user_id, id) WHERE user_id <> '';

CREATE TABLE registration_tokens (
    id          text PRIMARY KEY,
    description text NOT NULL DEFAULT '',
    max_uses    integer NOT NULL DEFAULT 0 CHECK (max_uses >= 0),
    uses        integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);

CREATE TABLE failure_counters (
    key          text PRIMARY KEY,
    failures     integer NOT NULL,
    first_at     timestamptz NOT NULL,
    last_at      timestamptz NOT NULL,
    locked_until timestamptz
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

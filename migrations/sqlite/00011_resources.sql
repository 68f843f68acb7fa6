-- Registered APIs (RFC 8707 resource indicators). uri is the exact string
-- a client sends as `resource` and the aud of the tokens for it; scopes is
-- a JSON array of {"name", "description"} in the order registered.

-- +goose Up
CREATE TABLE resources (
    id         TEXT NOT NULL PRIMARY KEY,
    uri        TEXT NOT NULL,
    name       TEXT NOT NULL,
    scopes     TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX resources_uri_uq ON resources (uri);

-- +goose Down
DROP TABLE resources;

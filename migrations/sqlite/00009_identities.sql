-- Upstream identities (SPEC part two "Sign-in through other providers"):
-- an account at an upstream provider, (upstream_id, subject), linked to one
-- user. groups is a JSON array of the upstream's group names at the last
-- sign-in. No foreign keys (00001's convention): the store removes a user's
-- identities when it deletes the user.

-- +goose Up
CREATE TABLE identities (
    upstream_id   TEXT NOT NULL,
    subject       TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    username      TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    groups        TEXT NOT NULL DEFAULT 'null',
    created_at    TEXT NOT NULL,
    last_login_at TEXT NOT NULL,
    PRIMARY KEY (upstream_id, subject)
);
CREATE INDEX identities_user_idx ON identities (user_id);
-- Linking by verified email looks users up by email.
CREATE INDEX users_email_lower_idx ON users (lower(email));

-- +goose Down
DROP INDEX users_email_lower_idx;
DROP TABLE identities;

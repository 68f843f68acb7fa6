-- Accounts (SPEC part two): the durable outgoing-mail queue and the
-- single-use link tokens mail carries. SQLite has a single writer, so a
-- claim (one UPDATE … RETURNING) is atomic across connections. Link
-- tokens are stored as SHA-256 hashes only.

-- +goose Up
CREATE TABLE mail_queue (
    id              TEXT NOT NULL PRIMARY KEY,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    links           TEXT NOT NULL DEFAULT '[]',
    created_at      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    claimed_by      TEXT NOT NULL DEFAULT '',
    lease_until     TEXT,
    sent_at         TEXT
);
CREATE INDEX mail_queue_due_idx ON mail_queue (next_attempt_at) WHERE sent_at IS NULL;
CREATE INDEX mail_queue_created_idx ON mail_queue (created_at);

CREATE TABLE link_tokens (
    hash       TEXT NOT NULL PRIMARY KEY,
    purpose    TEXT NOT NULL,
    user_id    TEXT NOT NULL DEFAULT '',
    email      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);
CREATE INDEX link_tokens_expires_idx ON link_tokens (expires_at);

-- +goose Down
DROP TABLE link_tokens;
DROP TABLE mail_queue;

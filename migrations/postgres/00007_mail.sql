-- Accounts (SPEC part two): the durable outgoing-mail queue and the
-- single-use link tokens mail carries. A message is inserted in the
-- transaction of the event that causes it and claimed by one worker at a
-- time (claimed_by + lease_until; FOR UPDATE SKIP LOCKED across
-- instances). Link tokens are stored as SHA-256 hashes only.

-- +goose Up
CREATE TABLE mail_queue (
    id              text PRIMARY KEY,
    recipient       text NOT NULL,
    subject         text NOT NULL,
    text_body       text NOT NULL,
    html_body       text NOT NULL,
    links           text[] NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text NOT NULL DEFAULT '',
    claimed_by      text NOT NULL DEFAULT '',
    lease_until     timestamptz,
    sent_at         timestamptz
);
CREATE INDEX mail_queue_due_idx ON mail_queue (next_attempt_at) WHERE sent_at IS NULL;
CREATE INDEX mail_queue_created_idx ON mail_queue (created_at);

CREATE TABLE link_tokens (
    hash       text PRIMARY KEY,
    purpose    text NOT NULL,
    user_id    text NOT NULL DEFAULT '',
    email      text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX link_tokens_expires_idx ON link_tokens (expires_at);

-- +goose Down
DROP TABLE link_tokens;
DROP TABLE mail_queue;

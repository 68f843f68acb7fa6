-- Accounts (SPEC part two): /account lists the user's sessions with the
-- browser each was started from.

-- +goose Up
ALTER TABLE login_sessions ADD COLUMN user_agent text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE login_sessions DROP COLUMN user_agent;

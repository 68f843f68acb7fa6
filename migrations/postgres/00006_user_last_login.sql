-- When a user last signed in with a password (Django's auth_user.last_login
-- on import; every successful password sign-in after). NULL: never.

-- +goose Up
ALTER TABLE users ADD COLUMN last_login_at timestamptz;

-- +goose Down
ALTER TABLE users DROP COLUMN last_login_at;

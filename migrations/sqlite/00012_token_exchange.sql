-- Token exchange (RFC 8693): the audiences a client may obtain by
-- exchanging a subject token, a JSON array like the other client lists.

-- +goose Up
ALTER TABLE clients ADD COLUMN token_exchange_audiences TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE clients DROP COLUMN token_exchange_audiences;

-- +goose Up
-- (schema written by the sqlite backend)
SELECT 1;

-- +goose Up
-- (schema written by the postgres backend)
SELECT 1;

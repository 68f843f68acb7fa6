-- The janitor deletes failure counters idle since before a cut-off, a
-- batch at a time (DeleteStaleCounters). Without an index each batch would
-- scan the whole table, which an attacker spraying usernames or addresses
-- can make large; the lock condition is checked on the few rows found.
-- last_at follows 00001's time convention (fixed-width UTC TEXT), so the
-- index orders it chronologically.

-- +goose Up
CREATE INDEX failure_counters_last_at_idx ON failure_counters (last_at);

-- +goose Down
DROP INDEX failure_counters_last_at_idx;

// Package sqlite is the SQLite backend of package storage, built on the
// pure-Go driver modernc.org/sqlite (no cgo) and database/sql. It owns the
// SQL for every aggregate (one file each) and the mapping of driver errors
// to storage.ErrNotFound / storage.ErrConflict; the schema itself lives in
// migrations/sqlite and is applied by Store.Migrate.
//
// SQLite allows one writer at a time. Every connection runs in WAL mode with
// a busy timeout, and write transactions start with BEGIN IMMEDIATE so that
// concurrent writers queue on the busy timeout instead of failing when a
// read lock is upgraded. Races the protocol cares about (code redemption,
// refresh rotation, nonce replay, key rotation) are single conditional
// statements or compare-and-swap transactions: exactly one caller wins.
//
// It imports storage and migrations only; nothing imports it but the
// composition root and the CLI.
package sqlite

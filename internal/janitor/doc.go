// Package janitor keeps the store bounded: on a timer it deletes expired
// authorization codes and tokens, grant families, nonces (client-assertion
// jti and the JWT denylist), login sessions, authorization flows,
// brute-force failure counters that can no longer count toward a lock, and
// audit events older than the retention period.
//
// Rows are deleted in batches (Options.Batch rows per statement) until a
// batch comes back short, so one pass never holds long locks or a huge
// transaction, whatever the backlog. A row is deleted only once it has been
// expired for Options.Grace: refresh tokens and codes stay in the store as
// inactive rows after use so that a replay is recognised (and revokes the
// family) until they expire; the grace margin also absorbs clock skew
// between instances.
//
// One instance at a time: every pass first takes a Locker lock. With
// Postgres that is a session advisory lock (PostgresLocker), so of many
// Sesame instances sharing a database only one sweeps at any moment and
// the others skip their turn; with SQLite, a single process, LocalLocker
// only keeps passes of one process from overlapping.
//
// The package imports storage (interfaces only) and pgx for the lock; it
// knows nothing of HTTP or of the protocol.
package janitor

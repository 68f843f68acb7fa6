// Package postgres is Sesame's production storage backend: every aggregate
// of package storage on PostgreSQL (15 or later), through pgx/v5 and a
// pgxpool connection pool.
//
// It owns the SQL of every store method; the schema itself lives in
// migrations/postgres and is applied by Store.Migrate (Open never
// migrates). It imports storage and migrations only, never a package above
// them. Tests get throwaway databases from the pgtest subpackage.
//
// Behaviour worth knowing:
//
//   - Times are stored as timestamptz in UTC and read back in UTC. Postgres
//     keeps microseconds, so the backend truncates every time to the
//     microsecond before writing it: a value read back equals the value
//     written truncated to time.Microsecond.
//   - Empty slices, maps and byte slices are read back as nil.
//   - Transactions travel in the context (BeginTx); every method uses the
//     transaction it finds there. They run at READ COMMITTED: the races the
//     contract names (token rotation, nonce claims, key activation, secret
//     rotation, flow steps, registration-token uses, failure counters) are
//     settled by conditional updates and unique constraints, so exactly one
//     of several concurrent callers wins and the others get
//     storage.ErrConflict (or ErrNotFound where the contract says so).
//   - Serialization failures and deadlocks (SQLSTATE 40001, 40P01) and
//     unique violations (23505) satisfy errors.Is(err, storage.ErrConflict);
//     a missing row satisfies errors.Is(err, storage.ErrNotFound). Any other
//     error is an infrastructure failure and wraps the driver error.
//   - Lists page with keyset cursors: users by lower(username), clients by
//     id (both in byte order, whatever the server's locale), audit events
//     newest first by their id, i.e. append order (Since inclusive, Until
//     exclusive).
//   - ClaimNonce decides whether an existing entry has expired with the
//     application's clock (time.Now), the clock that computed exp.
//   - A limit <= 0 given to a DeleteExpired* method deletes nothing, and a
//     zero RegistrationToken.ExpiresAt is a time long past (the token is
//     unusable): both fail closed, as in the SQLite backend.
package postgres

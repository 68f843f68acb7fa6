// Package scale holds Sesame's scale-out and operations tests: several
// instances over one Postgres, a database outage under load, draining on
// SIGTERM and a bounded soak. They boot real servers (in-process with
// internal/server, or the built binary) on loopback ports.
//
// Postgres tests follow storage/postgres/pgtest: skipped when
// SESAME_TEST_DATABASE_URL is unset outside CI, failed inside CI. The
// outage test runs its own throwaway Postgres cluster (initdb) so that
// stopping it cannot disturb other packages' tests.
package scale

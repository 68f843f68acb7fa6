// Package ha holds Sesame's high-availability tests of the database tier,
// run by `go test ./...` like every other package:
//
//   - TestPatroniFailover starts etcd (Debian etcd-server) and a 2-node
//     Patroni cluster (Debian patroni, Postgres 15) in a temp dir on
//     loopback ports, runs the built `sesame serve` on a multi-host
//     SESAME_DATABASE_URL with target_session_attrs=read-write, drives
//     client_credentials issuance and introspection, SIGKILLs the
//     primary's postmaster, and measures the time until Sesame serves
//     again, the answers during the gap (only 503 temporarily_unavailable
//     is allowed) and, per replication mode, the tokens answered 200 that
//     no longer introspect active afterwards (none with synchronous_mode).
//   - TestPgBouncerTwoInstances runs two `sesame serve` through PgBouncer
//     in transaction pooling mode (LISTEN through a direct
//     SESAME_DATABASE_LISTEN_URL) under the same load, and a revocation on
//     one is seen on the other.
//
// The figures docs/deploy.md quotes come from `go test -v -run
// 'TestPatroniFailover|TestPgBouncerTwoInstances' ./test/ha` (the lines
// starting with "measured:").
//
// Without the packages (or Postgres for the PgBouncer test) the tests
// skip with a message saying what is missing; with CI set they fail.
package ha

#!/usr/bin/env bash
# Prints the figures docs/deploy.md quotes: the Patroni failover (synchronous
# and asynchronous replication) and PgBouncer runs of test/ha. Needs the
# Debian packages etcd-server, patroni, pgbouncer and Postgres 15, and
# SESAME_TEST_DATABASE_URL for the PgBouncer test (see storage/postgres/pgtest).
set -euo pipefail
cd "$(dirname "$0")/../.."
go test -count=1 -v -timeout 10m -run 'TestPatroniFailover|TestPgBouncerTwoInstances' ./test/ha | tee /dev/stderr | grep -E 'measured:|^(--- |ok|FAIL)'

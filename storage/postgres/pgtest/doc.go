// Package pgtest gives tests a throwaway Postgres database: URL creates a
// fresh empty database on the server named by SESAME_TEST_DATABASE_URL and
// drops it when the test ends; Open also opens and migrates a
// storage/postgres Store on it.
//
// Without SESAME_TEST_DATABASE_URL a test is skipped, unless the CI
// environment variable is set, in which case it fails: CI must never
// silently skip the Postgres tests.
//
// It is for tests only and imports storage/postgres; nothing but _test
// files may import it.
package pgtest

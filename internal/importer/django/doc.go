// Package django reads a Django project's database and maps it to
// Sesame's records: `sesame import django --from postgres://…|sqlite:PATH`.
//
// What it reads: auth_user (username, email, first and last name,
// is_active, date_joined, password), auth_group and auth_user_groups, and
// Django REST Framework's authtoken_token. The source is opened read-only
// and read with plain SELECTs through database/sql (pgx's stdlib driver
// for Postgres, the modernc SQLite driver Sesame itself uses); the schema
// is checked first from django_migrations (auth 0009, Django 2.0, or
// later) and the columns it needs, so an older or foreign database is
// refused before anything is written.
//
// Design:
//   - Idempotent. Users are matched by username (case-insensitively, as
//     Sesame's usernames are unique), groups by name, tokens by their key's
//     keyed hash; a second run reports everything "unchanged". A password
//     hash is copied only while Sesame's copy is still an imported one, so
//     re-running after users signed in never downgrades their argon2id.
//   - Rows are read in Django id order, so when two Django usernames
//     differ only in case the first one wins on every run and the other is
//     reported as skipped — deterministic, never a silent merge.
//   - Nothing half-written: each batch (batchSize rows) is one storage
//     transaction, so an interrupted run leaves whole batches that the next
//     run sees as unchanged. --dry-run runs everything in one transaction
//     and rolls it back, so its counts are the real ones.
//   - Hashes are copied, never computed: internal/password verifies Django's
//     formats at sign-in and the first success replaces them with argon2id.
//     app.PasswordAlgorithm (password.Inspect) classifies each hash at import: malformed (for
//     example truncated) rows are skipped, unknown algorithms imported and
//     reported (the user must reset the password).
//   - DRF token keys become personal access tokens through the injected
//     TokenImporter (oauth.Handler.ImportDRFToken), stored only as keyed
//     hashes.
//
// It imports internal/app (validation and the use cases that write) and
// storage; never oauth, the HTTP packages or cmd.
package django

// Package dial opens the store named by SESAME_DATABASE_URL: it picks the
// backend from the URL scheme (sqlite:PATH, postgres://, postgresql://) and
// returns it as a storage.Store together with its migrator. It is the only
// package that knows every backend; the server and the CLI depend on it,
// nothing below them does.
package dial

// Package integration runs the rs kit against a real Sesame (package oauth
// on SQLite, in httptest). It holds only tests and benchmarks; it lives apart
// from package rs so that rs's own tests never depend on the server's code.
package integration

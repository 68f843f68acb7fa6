// Package storagetest is the conformance suite every storage backend must
// pass. It checks the promises written in the doc comments of package
// storage — sentinel errors, case-insensitive usernames, compare-and-swap
// updates that exactly one concurrent caller wins, batched expiry deletes,
// pagination, transactions that travel in the context — and nothing else,
// so a backend is free in how it stores things.
//
// A backend wires the suite from its own _test.go file:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, storagetest.Harness{New: ..., Break: ..., Reopen: ...})
//	}
//
// The package imports only package storage and the standard library; it is
// imported by tests only and never by production code.
package storagetest

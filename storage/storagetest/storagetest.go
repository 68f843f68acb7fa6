package storagetest

import (
	"testing"

	"github.com/sesameauth/sesame/storage"
)

// Harness builds fresh stores for the suite. Every function may be called
// from parallel subtests and must be safe for that.
type Harness struct {
	// New returns a new, empty, migrated store, closed by t.Cleanup. Stores
	// returned by different calls must not share data.
	New func(t *testing.T) storage.Store

	// Break makes the database unreachable for s (close its pool, or forbid
	// and terminate its server connections) so that every later call on s
	// fails. It may be called while s has a transaction open, from inside
	// the function given to storage.InTx. The suite uses it to check that
	// failures surface as plain errors — never as ErrNotFound/ErrConflict,
	// never as panics — and that a transaction cut off midway leaves nothing
	// half-written.
	Break func(t *testing.T, s storage.Store)

	// Reopen returns a fresh, working store over the same database as s
	// (which may have been broken by Break), closed by t.Cleanup. The suite
	// uses it to look at what a broken store really left behind.
	Reopen func(t *testing.T, s storage.Store) storage.Store
}

// Run runs the whole conformance suite against the backend built by h. All
// three Harness functions are required: a backend that cannot be broken
// and reopened cannot show it never half-writes.
func Run(t *testing.T, h Harness) {
	if h.New == nil || h.Break == nil || h.Reopen == nil {
		t.Fatal("storagetest: Harness.New, Break and Reopen are all required")
	}
	groups := []struct {
		name string
		run  func(*testing.T, Harness)
	}{
		{"Users", testUsers},
		{"Clients", testClients},
		{"Tokens", testTokens},
		{"Grants", testGrants},
		{"Nonces", testNonces},
		{"Keys", testKeys},
		{"Sessions", testSessions},
		{"Consents", testConsents},
		{"Flows", testFlows},
		{"Audit", testAudit},
		{"RegistrationTokens", testRegistrationTokens},
		{"Throttle", testThrottle},
		{"Groups", testGroups},
		{"Factors", testFactors},
		{"Resources", testResources},
		{"Device", testDevice},
		{"Identities", testIdentities},
		{"Mail", testMail},
		{"LinkTokens", testLinkTokens},
		{"Transactions", testTransactions},
		{"DatabaseGone", testDatabaseGone},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			// Groups run in parallel with each other (each subtest has its
			// own store) to keep the suite fast on throwaway Postgres
			// databases; subtests inside a group run in order.
			t.Parallel()
			g.run(t, h)
		})
	}
}

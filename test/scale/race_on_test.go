//go:build race

package scale_test

// buildFlags match the test binary's so that building the server reuses
// the packages this test already compiled.
var buildFlags = []string{"-race"}

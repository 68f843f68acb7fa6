//go:build !race

package scale_test

var buildFlags []string

package main

import (
	"os"
	"runtime/debug"
)

// serveGCPercent is the garbage collector's target for `serve` when GOGC
// is not set. A server's live heap is small (tens of MiB: caches, pools,
// keys) and nearly everything it allocates dies with its request; at Go's
// default of 100 the collector ran so often under load that its marking
// and assists were ~10% of the CPU of a token or introspection request
// and stretched p99 latency. 400 lets the heap grow to 5× the live set
// between collections (still well under 0.5 GiB) and, measured with
// sesame-bench at concurrency 16 (docs/benchmarks.md), raised throughput
// 10–25% and cut p99 by a quarter. GOGC (and GOMEMLIMIT) still win.
const serveGCPercent = 400

// tuneGC applies serveGCPercent unless the operator chose with GOGC.
func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(serveGCPercent)
	}
}

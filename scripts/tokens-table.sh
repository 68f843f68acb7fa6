#!/usr/bin/env bash
# tokens-table.sh runs the benchmarks behind docs/tokens.md ("What each
# costs") and prints the table with medians of 5 runs. Takes about two
# minutes on two cores.
#
# usage: scripts/tokens-table.sh            (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test -p 1 -run '^$' -bench . -benchmem -count 5 ./rs/... | tee "$out" >&2
awk '
	function label(n) {
		if (n ~ /SesameVerifyLocalES256/) return "JWT, local check, ES256 (Sesame'"'"'s token)"
		if (n ~ /^BenchmarkVerifyLocalES256/) return "JWT, local check, ES256 (test issuer)"
		if (n ~ /^BenchmarkVerifyLocalRS256/) return "JWT, local check, RS256"
		if (n ~ /^BenchmarkVerifyLocalEdDSA/) return "JWT, local check, EdDSA"
		if (n ~ /SesameIntrospectOpaque/) return "introspection of an opaque token, uncached, real Sesame"
		if (n ~ /SesameIntrospectJWT/) return "introspection of a JWT, uncached, real Sesame"
		if (n ~ /^BenchmarkIntrospectUncached/) return "introspection, uncached, in-memory test issuer (HTTP floor)"
		if (n ~ /SesameIntrospectCached/) return "introspection answered from the kit'"'"'s cache (real Sesame)"
		if (n ~ /^BenchmarkIntrospectCached/) return "introspection answered from the kit'"'"'s cache (test issuer)"
		return n
	}
	function us(ns) { return ns >= 10000 ? sprintf("%d µs", ns / 1000 + 0.5) : sprintf("%.1f µs", ns / 1000) }
	function median(s,   a, n) { n = split(s, a, " "); asort(a); return a[int((n + 1) / 2)] }
	/^Benchmark/ {
		name = $1; sub(/-[0-9]+$/, "", name)
		if (!(name in seen)) { seen[name] = 1; order[++k] = name }
		for (i = 2; i < NF; i++) {
			if ($(i + 1) == "ns/op") wall[name] = wall[name] " " $i
			if ($(i + 1) == "cpu-ns/op") cpu[name] = cpu[name] " " $i
			if ($(i + 1) == "B/op") bytes[name] = bytes[name] " " $i
			if ($(i + 1) == "allocs/op") allocs[name] = allocs[name] " " $i
		}
	}
	END {
		print "| per request | wall time (median of 5) | CPU time (median) | allocations |"
		print "| --- | --- | --- | --- |"
		for (j = 1; j <= k; j++) {
			n = order[j]; b = median(bytes[n])
			printf "| %s | %s | %s | %s, %d |\n", label(n), us(median(wall[n])), (n in cpu) ? us(median(cpu[n])) : "—",
				(b >= 1024 ? sprintf("%d KB", b / 1024 + 0.5) : sprintf("%d B", b)), median(allocs[n])
		}
	}
' "$out"
echo >&2
echo "machine: $(nproc) CPUs, $(go env GOOS)/$(go env GOARCH), $(go version | cut -d' ' -f3), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

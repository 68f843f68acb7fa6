#!/bin/bash
# What the first run of the server costs, measured with empty Go caches
# (the figures in README.md "What the first run costs" and
# docs/benchmarks.md "Cold start").
#
# usage: scripts/coldstart.sh [RUNS]
#   env: TAGS (build tags, default the Makefile's), P (go build -p, default 2),
#        PORT (18600), KEEP=1 keeps the temp caches, TOP (10) slowest packages.
#
# Each run makes a new empty GOMODCACHE and GOCACHE in a temp dir, then times
#   download  go list -deps ./cmd/sesame: fetches and unpacks only the modules
#             the server's packages come from (what go build/go run fetch)
#   compile   go build -p $P ./cmd/sesame with the module cache filled and the
#             build cache empty (the standard library is compiled too)
#   start     the built binary from exec to GET /readyz 200 (fresh SQLite file)
#   warm run  go run ./cmd/sesame serve with both caches filled, to /readyz 200
# and prints one table row per run; the cold first `go run ./cmd/sesame serve`
# costs download + compile + start. With TOP>0 it also prints the packages
# whose compile took longest in the last run (from go build -debug-actiongraph).
# Not run by CI: one run takes minutes. The machine may be shared: run it
# several times and read the spread.
set -e
RUNS=${1:-2}
cd "$(dirname "$0")/.."
TAGS=${TAGS-$(sed -n 's/^TAGS *?= *//p' Makefile)}
P=${P:-2}; PORT=${PORT:-18600}; TOP=${TOP:-10}
TIMEFORMAT='%R %U %S'

# wait_ready PID: seconds from now until /readyz answers 200 (fails if PID dies).
wait_ready() {
  local t0 t1
  t0=$(date +%s.%N)
  until curl -sf -o /dev/null "http://127.0.0.1:$PORT/readyz"; do
    kill -0 "$1" 2>/dev/null || { echo "server exited before /readyz" >&2; return 1; }
    sleep 0.05
  done
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc
}
stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null || true; }

echo "go $(go env GOVERSION), $(nproc) cores, -p $P, tags '${TAGS}', load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| run | download s | modules MB (zips / unpacked) | compile s wall (user+sys) | binary MB | start to /readyz s | warm go run to /readyz s |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for run in $(seq "$RUNS"); do
  W=$(mktemp -d)
  export GOMODCACHE=$W/mod GOCACHE=$W/cache GOFLAGS=-modcacherw
  export SESAME_SECRET=$(head -c 32 /dev/urandom | base64) SESAME_LOG_LEVEL=warn
  export SESAME_LISTEN=127.0.0.1:$PORT SESAME_ISSUER=http://127.0.0.1:$PORT
  export SESAME_DATABASE_URL=sqlite:$W/sesame.db

  dl=$( { time go list -tags "$TAGS" -deps ./cmd/sesame >/dev/null; } 2>&1 | tail -1 | cut -d' ' -f1)
  zips=$(du -sm "$GOMODCACHE/cache/download" | cut -f1)
  all=$(du -sm "$GOMODCACHE" | cut -f1)

  c=$( { time go build -p "$P" -tags "$TAGS" -debug-actiongraph="$W/graph.json" -o "$W/sesame" ./cmd/sesame; } 2>&1 | tail -1)
  read -r cw cu cs <<<"$c"
  bin=$(( $(stat -c %s "$W/sesame") / 1048576 ))

  "$W/sesame" serve >"$W/serve.log" 2>&1 & sp=$!
  st=$(wait_ready $sp); stop $sp

  rm -f "$W/sesame.db"*
  go run -tags "$TAGS" ./cmd/sesame serve >"$W/run.log" 2>&1 & rp=$!
  wr=$(wait_ready $rp); pkill -P $rp 2>/dev/null || true; stop $rp

  printf '| %s | %.1f | %s / %s | %.0f (%.0f) | %s | %.2f | %.1f |\n' \
    "$run" "$dl" "$zips" "$all" "$cw" "$(echo "$cu + $cs" | bc)" "$bin" "$st" "$wr"
  last=$W
  [ -n "$KEEP" ] || [ "$run" = "$RUNS" ] || rm -rf "$W"
done
if [ "$TOP" -gt 0 ]; then
  echo
  echo "slowest compiles in the last run (s, wall, while -p $P ran others beside them):"
  jq -r 'def ts: capture("^(?<s>[^.Z]+)(\\.(?<f>[0-9]+))?Z$") | ((.s + "Z") | fromdateiso8601) + ("0." + (.f // "0") | tonumber);
    .[] | select(.Mode == "build" and .TimeStart != null and .TimeDone != null)
    | [(.TimeDone | ts) - (.TimeStart | ts), .Package] | @tsv' "$last/graph.json" | sort -rn | head -"$TOP" | awk '{printf "  %6.1f  %s\n", $1, $2}'
fi
if [ -n "$KEEP" ]; then echo "caches kept in $last"; else rm -rf "$last"; fi

#!/bin/bash
# Benchmarks of docs/benchmarks.md: builds sesame and sesame-bench, starts a
# server on a fresh store (rate limiting off, logs at warn), creates the
# clients and user the flows need, and drives each flow for DUR at
# concurrency C, printing one JSON line per flow (req/s, p50, p99, errors).
#
# usage: scripts/benchmarks.sh sqlite|postgres [flow...]
#   flows: health cc_jwt cc_opq intro_jwt intro_opq jwks refresh userinfo
#          verify authcode_sso password (default: all of them)
#   env:   DUR (8s), C (16), PPROF=1 (CPU profile of the server per flow in
#          $OUT/<store>-<flow>.pprof), OUT (/tmp/sesame-bench), PORT (18500),
#          PGHOST/PGUSER (127.0.0.1/postgres: a throwaway database is created
#          and dropped)
# prints: req/s, p50/p99 ms, errors and server_cpu_us_per_req (the server
# process's CPU time over the run divided by the requests it answered).
# needs: go, jq, curl; for postgres createdb/dropdb.
set -e
STORE=${1:-sqlite}; shift || true
FLOWS=${@:-health cc_jwt cc_opq intro_jwt intro_opq jwks refresh userinfo verify authcode_sso password}
OUT=${OUT:-/tmp/sesame-bench}; PORT=${PORT:-18500}
mkdir -p "$OUT"
cd "$(dirname "$0")/.."
go build -tags nomsgpack -o "$OUT/sesame" ./cmd/sesame
go build -o "$OUT/sesame-bench" ./cmd/sesame-bench
export SESAME_SECRET=$(head -c 32 /dev/urandom | base64)
export SESAME_LOG_LEVEL=warn SESAME_RATE_LIMIT_ENABLED=false SESAME_DEMO=false
export SESAME_LISTEN=127.0.0.1:$PORT SESAME_ISSUER=http://127.0.0.1:$PORT
[ -n "$PPROF" ] && export SESAME_PPROF_LISTEN=127.0.0.1:$((PORT+1))
if [ "$STORE" = sqlite ]; then
  D=$(mktemp -d); export SESAME_DATABASE_URL=sqlite:$D/sesame.db
else
  export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
  DB=sesame_bench_$$; createdb "$DB"
  export SESAME_DATABASE_URL="postgres://$PGUSER@$PGHOST:5432/$DB?sslmode=disable"
fi
S=$OUT/sesame
$S migrate up >/dev/null
J=$($S clients create --name jwt --grant-types client_credentials --scopes "api sesame:introspect" --token-format jwt --json)
O=$($S clients create --name opq --grant-types client_credentials --scopes "api sesame:introspect" --token-format opaque --json)
JID=$(echo "$J" | jq -r .client_id); JSEC=$(echo "$J" | jq -r .client_secret)
OID=$(echo "$O" | jq -r .client_id); OSEC=$(echo "$O" | jq -r .client_secret)
P=$($S clients create --name pw --grant-types password,refresh_token --scopes "openid offline_access api" --json)
PID=$(echo "$P" | jq -r .client_id); PSEC=$(echo "$P" | jq -r .client_secret)
W=$($S clients create --name web --grant-types authorization_code,refresh_token --redirect-uris http://127.0.0.1:9/cb --scopes "openid offline_access api" --json)
WID=$(echo "$W" | jq -r .client_id); WSEC=$(echo "$W" | jq -r .client_secret)
printf '%s\n' 'correct horse battery staple' | $S users create bench --password-stdin >/dev/null
$S serve >$OUT/serve.log 2>&1 &
SP=$!
trap "kill $SP 2>/dev/null; wait $SP 2>/dev/null; [ -n \"$DB\" ] && dropdb $DB" EXIT
for i in $(seq 50); do curl -sf $SESAME_ISSUER/readyz >/dev/null && break; sleep 0.2; done
cpu_ticks() { awk '{print $14 + $15}' /proc/$SP/stat; }
B="$OUT/sesame-bench --issuer $SESAME_ISSUER -c ${C:-16} -d ${DUR:-8s} --json"
uptime
for f in $FLOWS; do
  case $f in
    health) args="--flow health";;
    cc_jwt) args="--flow client_credentials --client-id $JID --client-secret $JSEC --scope api";;
    cc_opq) args="--flow client_credentials --client-id $OID --client-secret $OSEC --scope api";;
    intro_jwt) args="--flow introspect --client-id $JID --client-secret $JSEC --scope api";;
    intro_opq) args="--flow introspect --client-id $OID --client-secret $OSEC --scope api";;
    jwks) args="--flow jwks";;
    refresh) args="--flow refresh --client-id $PID --client-secret $PSEC --username bench --password 'correct horse battery staple'";;
    userinfo) args="--flow userinfo --client-id $PID --client-secret $PSEC --username bench --password 'correct horse battery staple'";;
    verify) args="--flow verify --client-id $JID --client-secret $JSEC --scope api";;
    authcode_sso) args="--flow authorization_code --client-id $WID --client-secret $WSEC --username bench --password 'correct horse battery staple' --redirect-uri http://127.0.0.1:9/cb --keep-session --warmup 3s";;
    password) args="--flow password --client-id $PID --client-secret $PSEC --username bench --password 'correct horse battery staple'";;
    *) echo "unknown flow $f" >&2; exit 2;;
  esac
  if [ -n "$PPROF" ]; then
    (sleep 1; curl -s -o $OUT/$STORE-$f.pprof "http://127.0.0.1:$((PORT+1))/debug/pprof/profile?seconds=5") &
    PP=$!
  fi
  # Server CPU time per request (utime+stime of the server process over the
  # run, in clock ticks): much less sensitive than req/s to other load on a
  # shared machine, so before/after comparisons use it.
  t0=$(cpu_ticks)
  res=$(eval $B $args 2>/dev/null) || { eval $B $args; continue; }
  t1=$(cpu_ticks)
  echo "$res" | jq -c --arg f $f --argjson ticks $((t1 - t0)) --argjson hz "$(getconf CLK_TCK)" \
    '{flow:$f, rps:.rps, p50:.latency_ms.p50, p99:.latency_ms.p99, errors:.errors, server_cpu_us_per_req:(if .requests > 0 then (($ticks / $hz * 1e6 / .requests) | floor) else null end)}'

  [ -n "$PP" ] && wait $PP
done

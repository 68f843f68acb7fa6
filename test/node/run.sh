#!/usr/bin/env bash
# Opt-in interop test: a plain Node.js API (server.mjs, jose from npm)
# verifies Sesame JWT access tokens. Needs a running Sesame:
#
#   SESAME_ISSUER        issuer URL, e.g. http://127.0.0.1:8080
#   SESAME_CLIENT_ID     a confidential client with the client_credentials grant
#   SESAME_CLIENT_SECRET   whose access tokens are JWTs
#   RS_AUDIENCE          audience the API requires (default: SESAME_CLIENT_ID,
#                        the aud Sesame uses when the client has none registered)
#
# Prints one PASS/FAIL line; exits non-zero on failure.
set -uo pipefail

name="test/node"
fail() { echo "FAIL $name: $*"; exit 1; }

for v in SESAME_ISSUER SESAME_CLIENT_ID SESAME_CLIENT_SECRET; do
	[ -n "${!v:-}" ] || fail "$v is not set"
done
export RS_AUDIENCE="${RS_AUDIENCE:-$SESAME_CLIENT_ID}"
for cmd in node npm curl jq; do
	command -v "$cmd" >/dev/null || fail "$cmd is not installed"
done

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

cp "$here/server.mjs" "$tmp/"
(cd "$tmp" && npm init -y >/dev/null && npm install --no-audit --no-fund --loglevel=error jose@6 >/dev/null) ||
	fail "npm install jose failed"

export PORT
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
(cd "$tmp" && exec node server.mjs >"$tmp/server.log" 2>&1) &
pid=$!
api="http://127.0.0.1:$PORT"
for _ in $(seq 1 50); do
	curl -s -o /dev/null "$api/hello" && break
	kill -0 "$pid" 2>/dev/null || fail "server exited: $(tail -3 "$tmp/server.log")"
	sleep 0.2
done

token_endpoint=$(curl -fsS "$SESAME_ISSUER/.well-known/openid-configuration" | jq -r .token_endpoint) ||
	fail "discovery at $SESAME_ISSUER failed"
token=$(curl -fsS -u "$SESAME_CLIENT_ID:$SESAME_CLIENT_SECRET" -d grant_type=client_credentials "$token_endpoint" | jq -r .access_token) ||
	fail "client_credentials token request failed"
[ "$(tr -cd . <<<"$token" | wc -c)" = 2 ] || fail "the client's access token is not a JWT"

# Flip one character in the middle of the signature.
sig=${token##*.}
i=$((${#sig} / 2))
c=${sig:$i:1}
[ "$c" = A ] && r=B || r=A
tampered="${token%.*}.${sig:0:$i}$r${sig:$((i + 1))}"

# check NAME WANT_STATUS [curl args...]
check() {
	local what=$1 want=$2
	shift 2
	local got
	got=$(curl -s -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' "$@" "$api/hello")
	[ "$got" = "$want" ] || fail "$what: status $got, want $want: $(cat "$tmp/body")"
}
check "valid token" 200 -H "Authorization: Bearer $token"
grep -q 'You are authenticated.' "$tmp/body" || fail "valid token: unexpected body $(cat "$tmp/body")"
check "no token" 401
grep -qi '^www-authenticate: Bearer realm="node-api"' "$tmp/headers" || fail "no token: no Bearer challenge"
check "tampered token" 401 -H "Authorization: Bearer $tampered"
grep -qi 'error="invalid_token"' "$tmp/headers" || fail "tampered token: no invalid_token challenge"

echo "PASS $name: jose accepted a Sesame JWT and refused a missing and a tampered one"

#!/usr/bin/env bash
# Opt-in interop test: a Django REST Framework API (project/, copied to a
# temp dir) accepts Sesame tokens with djangorestframework-simplejwt (JWTs,
# /hello) and with the introspection class (/introspect/hello). Needs
# Debian's python3-djangorestframework-simplejwt, python3-django,
# python3-djangorestframework, python3-requests (PYTHON, default
# /usr/bin/python3) and a running Sesame:
#
#   SESAME_ISSUER                  issuer URL, e.g. http://127.0.0.1:8080
#   SESAME_CLIENT_ID/_SECRET       a confidential client_credentials client whose
#                                  access tokens are JWTs signed with ES256
#   RS_AUDIENCE                    audience the API requires (default: SESAME_CLIENT_ID)
#   SESAME_INTROSPECT_CLIENT_ID/_SECRET  the API's own client, holding sesame:introspect
#                                  (default: SESAME_CLIENT_ID, which may introspect its own tokens)
#   SESAME_OPAQUE_CLIENT_ID/_SECRET      optional: a client with opaque access tokens
#
# Prints one PASS/FAIL line; exits non-zero on failure.
set -uo pipefail

name="test/drf"
fail() { echo "FAIL $name: $*"; exit 1; }

for v in SESAME_ISSUER SESAME_CLIENT_ID SESAME_CLIENT_SECRET; do
	[ -n "${!v:-}" ] || fail "$v is not set"
done
export RS_AUDIENCE="${RS_AUDIENCE:-$SESAME_CLIENT_ID}"
export SESAME_INTROSPECT_CLIENT_ID="${SESAME_INTROSPECT_CLIENT_ID:-$SESAME_CLIENT_ID}"
export SESAME_INTROSPECT_CLIENT_SECRET="${SESAME_INTROSPECT_CLIENT_SECRET:-$SESAME_CLIENT_SECRET}"
PYTHON="${PYTHON:-/usr/bin/python3}"
for cmd in "$PYTHON" curl jq; do
	command -v "$cmd" >/dev/null || fail "$cmd is not installed"
done
"$PYTHON" -c 'import django, rest_framework, rest_framework_simplejwt, requests, jwt, cryptography' 2>/dev/null ||
	fail "$PYTHON lacks django/rest_framework/simplejwt/requests (apt-get install python3-djangorestframework-simplejwt python3-requests)"

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

cp "$here"/project/*.py "$tmp/"
port=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd "$tmp" && PYTHONPATH="$tmp" DJANGO_SETTINGS_MODULE=settings exec "$PYTHON" -m django runserver "127.0.0.1:$port" --noreload >"$tmp/server.log" 2>&1) &
pid=$!
api="http://127.0.0.1:$port"
for _ in $(seq 1 75); do
	curl -s -o /dev/null "$api/hello" && break
	kill -0 "$pid" 2>/dev/null || fail "server exited: $(tail -5 "$tmp/server.log")"
	sleep 0.2
done

token_endpoint=$(curl -fsS "$SESAME_ISSUER/.well-known/openid-configuration" | jq -r .token_endpoint) ||
	fail "discovery at $SESAME_ISSUER failed"
# token ID SECRET: a client_credentials access token
token() {
	curl -fsS -u "$1:$2" -d grant_type=client_credentials "$token_endpoint" | jq -er .access_token
}
jwt=$(token "$SESAME_CLIENT_ID" "$SESAME_CLIENT_SECRET") || fail "client_credentials token request failed"
[ "$(tr -cd . <<<"$jwt" | wc -c)" = 2 ] || fail "the client's access token is not a JWT"

# Flip one character in the middle of the signature.
sig=${jwt##*.}
i=$((${#sig} / 2))
[ "${sig:$i:1}" = A ] && r=B || r=A
tampered="${jwt%.*}.${sig:0:$i}$r${sig:$((i + 1))}"

# check WHAT PATH WANT_STATUS [curl args...]
check() {
	local what=$1 path=$2 want=$3
	shift 3
	local got
	got=$(curl -s -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' "$@" "$api$path")
	[ "$got" = "$want" ] || fail "$what: status $got, want $want: $(head -c 300 "$tmp/body")"
}
check "JWT on /hello" /hello 200 -H "Authorization: Bearer $jwt"
grep -q 'You are authenticated.' "$tmp/body" || fail "JWT: unexpected body $(cat "$tmp/body")"
check "no token on /hello" /hello 401
grep -qi '^www-authenticate: Bearer realm="api"' "$tmp/headers" || fail "no token: no Bearer challenge"
check "tampered JWT on /hello" /hello 401 -H "Authorization: Bearer $tampered"
check "JWT on /introspect/hello" /introspect/hello 200 -H "Authorization: Bearer $jwt"
check "tampered JWT on /introspect/hello" /introspect/hello 401 -H "Authorization: Bearer $tampered"
check "no token on /introspect/hello" /introspect/hello 401
what="JWT"
if [ -n "${SESAME_OPAQUE_CLIENT_ID:-}" ]; then
	opaque=$(token "$SESAME_OPAQUE_CLIENT_ID" "${SESAME_OPAQUE_CLIENT_SECRET:-}") || fail "opaque token request failed"
	check "opaque token on /introspect/hello" /introspect/hello 200 -H "Authorization: Bearer $opaque"
	check "opaque token on /hello (JWT only)" /hello 401 -H "Authorization: Bearer $opaque"
	what="JWT and opaque tokens"
fi

echo "PASS $name: simplejwt and introspection accepted Sesame $what and refused missing and tampered ones"

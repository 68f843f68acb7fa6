#!/bin/bash
# Real-client interop (issue 13, "Done when" 2): builds sesame, starts it on
# a fresh SQLite file in a temp dir, and runs, unmodified,
#   - openid-client 6.9.0 (npm): discovery, code flow + PKCE with
#     private_key_jwt (aud = issuer), client_credentials with
#     private_key_jwt, RP-initiated logout by POST;
#   - zitadel/oidc v3.52.0 (Go, own module scripts/interop/zitadel):
#     discovery, code flow + PKCE, rp.EndSession (logout by POST);
#   - Authlib (Debian python3-authlib): RFC 8414 and OIDC Discovery
#     metadata validation.
# Prints PASS/FAIL per check; exits non-zero if any check failed.
# Network: only the npm registry (npm install into the temp dir) and the Go
# module proxy (first run). About 30-60 s; every step is under `timeout`.
#
# usage: scripts/interop.sh        env: PORT (18600), PYTHON (/usr/bin/python3)
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
PORT=${PORT:-18600}
PY=${PYTHON:-/usr/bin/python3}
TMP=$(mktemp -d)
SP=
cleanup() {
	[ -n "$SP" ] && kill "$SP" 2>/dev/null && wait "$SP" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
die() { echo "FAIL interop: $*"; exit 1; }

timeout 300 go build -o "$TMP/sesame" ./cmd/sesame || die "go build"
# HTTPS with a throwaway certificate: Authlib (rightly) wants an https
# issuer. Each client trusts it through its usual knob.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null || die "openssl"
export SESAME_TLS_CERT=$TMP/cert.pem SESAME_TLS_KEY=$TMP/key.pem
export SSL_CERT_FILE=$TMP/cert.pem NODE_EXTRA_CA_CERTS=$TMP/cert.pem # Go and Python; Node
export SESAME_BIN=$TMP/sesame
export SESAME_SECRET=$(head -c 32 /dev/urandom | base64)
export SESAME_DATABASE_URL=sqlite:$TMP/sesame.db
export SESAME_LISTEN=127.0.0.1:$PORT SESAME_ISSUER=https://127.0.0.1:$PORT
export SESAME_DEMO=false SESAME_RATE_LIMIT_ENABLED=false SESAME_LOG_LEVEL=warn
export ISSUER=$SESAME_ISSUER USERNAME=interop PASSWORD='interop correct horse'
S=$SESAME_BIN
$S migrate up >/dev/null || die "migrate"
printf '%s\n' "$PASSWORD" | $S users create "$USERNAME" --password-stdin >/dev/null || die "users create"
Z=$($S clients create --name zitadel --grant-types authorization_code --scopes openid \
	--redirect-uris http://127.0.0.1:9/zcb --post-logout-redirect-uris http://127.0.0.1:9/zbye \
	--skip-consent --json) || die "clients create"
ZID=$(echo "$Z" | sed -n 's/.*"client_id": *"\([^"]*\)".*/\1/p')
ZSEC=$(echo "$Z" | sed -n 's/.*"client_secret": *"\([^"]*\)".*/\1/p')
$S serve >"$TMP/serve.log" 2>&1 &
SP=$!
for _ in $(seq 100); do curl -sf --cacert "$TMP/cert.pem" "$ISSUER/readyz" >/dev/null && break; sleep 0.1; done
curl -sf --cacert "$TMP/cert.pem" "$ISSUER/readyz" >/dev/null || { cat "$TMP/serve.log"; die "server did not start"; }

rc=0
echo "== Authlib $($PY -c 'import authlib; print(authlib.__version__)')"
timeout 60 "$PY" scripts/interop/authlib_metadata.py "$ISSUER" || rc=1

echo "== openid-client 6.9.0"
mkdir "$TMP/node" && cp scripts/interop/openid-client.mjs "$TMP/node/"
if (cd "$TMP/node" && echo '{"private":true,"type":"module"}' >package.json &&
	timeout 180 npm install --no-audit --no-fund --loglevel=error openid-client@6.9.0 >/dev/null); then
	(cd "$TMP/node" && timeout 120 node openid-client.mjs) || rc=1
else
	echo "FAIL openid-client: npm install"; rc=1
fi

echo "== zitadel/oidc v3.52.0"
(cd scripts/interop/zitadel && CLIENT_ID=$ZID CLIENT_SECRET=$ZSEC timeout 300 go run .) || rc=1

[ $rc = 0 ] && echo "interop: all checks passed" || echo "interop: FAILED"
exit $rc

// Interop check with openid-client (npm, unmodified): discovery, the code
// flow with PKCE and private_key_jwt at the token endpoint (openid-client
// signs the assertion with aud = the issuer, issue 13 item 14), a
// client_credentials grant with private_key_jwt, and RP-initiated logout by
// POST with the parameters openid-client's buildEndSessionUrl produces
// (item 15; openid-client v6 only builds the GET URL, an RP posting it sends
// exactly these parameters).
//
// usage: node openid-client.mjs   (env: ISSUER, SESAME_BIN, USERNAME, PASSWORD;
// the SESAME_* environment of the server for the CLI)
import * as client from 'openid-client';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const { ISSUER, SESAME_BIN, USERNAME, PASSWORD } = process.env;
const redirectURI = 'http://127.0.0.1:9/ocb';
const logoutURI = 'http://127.0.0.1:9/obye';
let failed = 0;
const check = async (name, fn) => {
  try {
    await fn();
    console.log(`PASS openid-client: ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL openid-client: ${name}: ${e?.message ?? e}${e?.cause ? ' (' + JSON.stringify(e.cause) + ')' : ''}`);
  }
};
const must = (cond, msg) => { if (!cond) throw new Error(msg); };

// A tiny browser: cookies of the issuer, no automatic redirects.
const jar = new Map();
async function browse(url, init = {}) {
  const headers = new Headers(init.headers);
  if (jar.size) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
  const res = await fetch(url, { ...init, headers, redirect: 'manual' });
  for (const c of res.headers.getSetCookie()) {
    const [kv] = c.split(';');
    const i = kv.indexOf('=');
    jar.set(kv.slice(0, i), kv.slice(i + 1));
  }
  return res;
}
// Follows redirects inside the issuer; returns the first Location outside it.
async function follow(res) {
  for (let i = 0; i < 10; i++) {
    const loc = res.headers.get('location');
    if (!loc) return { res };
    const abs = new URL(loc, ISSUER).href;
    if (!abs.startsWith(ISSUER + '/')) return { res, location: abs };
    res = await browse(abs);
  }
  throw new Error('too many redirects');
}
async function signIn(authURL) {
  let { res, location } = await follow(await browse(authURL));
  if (location) return location;
  const html = await res.text();
  const action = html.match(/<form method="post" action="([^"]+)"/)?.[1]?.replaceAll('&amp;', '&');
  const csrf = html.match(/name="csrf_token" value="([^"]+)"/)?.[1];
  must(action && csrf, `no login form (status ${res.status})`);
  res = await browse(new URL(action, ISSUER), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ISSUER },
    body: new URLSearchParams({ username: USERNAME, password: PASSWORD, csrf_token: csrf }),
  });
  ({ location } = await follow(res));
  must(location, `login did not lead back to the client (status ${res.status})`);
  return location;
}

// The client's key pair; the public half is registered with the CLI.
const { publicKey, privateKey } = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
const jwk = { ...(await crypto.subtle.exportKey('jwk', publicKey)), kid: 'oc1', alg: 'ES256', use: 'sig' };
const jwksFile = join(process.cwd(), 'jwks.json'); // the script's temp dir
writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
const created = JSON.parse(execFileSync(SESAME_BIN, ['clients', 'create', '--name', 'openid-client',
  '--grant-types', 'authorization_code,client_credentials', '--scopes', 'openid api',
  '--redirect-uris', redirectURI, '--post-logout-redirect-uris', logoutURI, '--skip-consent',
  '--auth-method', 'private_key_jwt', '--jwks-file', jwksFile, '--json'], { encoding: 'utf8' }));
must(!created.client_secret, 'a private_key_jwt client was given a secret');
const clientId = created.client_id;

let config;
await check('discovery', async () => {
  config = await client.discovery(new URL(ISSUER), clientId, { token_endpoint_auth_method: 'private_key_jwt' },
    client.PrivateKeyJwt({ key: privateKey, kid: 'oc1' }));
  must(config.serverMetadata().issuer === ISSUER, 'issuer mismatch');
});
if (!config) process.exit(1);

let tokens;
await check('authorization code + PKCE with private_key_jwt (aud = issuer)', async () => {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const authURL = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectURI, scope: 'openid', state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  const cb = await signIn(authURL.href);
  tokens = await client.authorizationCodeGrant(config, new URL(cb), { pkceCodeVerifier: verifier, expectedState: state });
  must(tokens.access_token && tokens.id_token, 'no access or ID token');
  must(tokens.claims()?.sub, 'ID token without sub');
});

await check('client_credentials with private_key_jwt', async () => {
  const t = await client.clientCredentialsGrant(config, { scope: 'api' });
  must(t.access_token, 'no access token');
});

await check('RP-initiated logout by POST', async () => {
  must(tokens, 'no ID token from the code flow');
  const end = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token, post_logout_redirect_uri: logoutURI, state: 'ocbye' });
  const res = await browse(end.origin + end.pathname, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: end.searchParams,
  });
  const loc = res.headers.get('location');
  must(res.status === 303 || res.status === 302, `status ${res.status}, want a redirect`);
  const u = new URL(loc);
  must(u.origin + u.pathname === logoutURI && u.searchParams.get('state') === 'ocbye', `redirected to ${loc}`);
  // The session is gone: a new authorization request asks for a login.
  const again = client.buildAuthorizationUrl(config, { redirect_uri: redirectURI, scope: 'openid', state: client.randomState(),
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
  const r2 = await browse(again.href);
  must(new URL(r2.headers.get('location') ?? '', ISSUER).pathname === '/login', 'still signed in after logout');
});

process.exit(failed ? 1 : 0);

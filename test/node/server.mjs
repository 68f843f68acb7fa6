// A plain Node.js API protected by Sesame JWT access tokens, with jose.
// This is the code docs/resource-servers.md shows; run.sh tests it.
//
//   SESAME_ISSUER=http://localhost:8080 RS_AUDIENCE=https://api.example.com node server.mjs
import http from 'node:http';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const issuer = process.env.SESAME_ISSUER;
const audience = process.env.RS_AUDIENCE;
const port = Number(process.env.PORT ?? 8082);

// Find the key set through discovery, and check the document is really the
// issuer's (RFC 8414 §3.3).
const meta = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
if (meta.issuer !== issuer) throw new Error(`discovery names issuer ${meta.issuer}, want ${issuer}`);
// jose caches the keys and refetches on an unknown kid, at most once per
// cooldownDuration, so a key rotation at Sesame needs no restart.
const JWKS = createRemoteJWKSet(new URL(meta.jwks_uri), { cooldownDuration: 10_000, cacheMaxAge: 15 * 60_000 });

const verifyOptions = {
  issuer,
  audience,
  typ: 'at+jwt', // RFC 9068: refuse ID tokens and other JWTs
  algorithms: ['ES256', 'RS256', 'PS256', 'EdDSA'],
  clockTolerance: 30,
  requiredClaims: ['exp', 'sub'],
};

function refuse(res, status, error, description) {
  const params = ['realm="node-api"'];
  if (error) params.push(`error="${error}"`, `error_description="${description}"`);
  res.writeHead(status, { 'WWW-Authenticate': `Bearer ${params.join(', ')}`, 'Content-Type': 'application/json' });
  res.end(error ? JSON.stringify({ error, error_description: description }) : '');
}

http.createServer(async (req, res) => {
  if (req.url !== '/hello') {
    res.writeHead(404).end();
    return;
  }
  const m = /^Bearer +(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!m) return refuse(res, 401);
  let payload;
  try {
    ({ payload } = await jwtVerify(m[1], JWKS, verifyOptions));
  } catch (e) {
    // e.code is a fixed identifier such as ERR_JWT_EXPIRED: safe to echo.
    return refuse(res, 401, 'invalid_token', e.code ?? 'ERR_JWT_INVALID');
  }
  const name = payload.preferred_username ?? payload.username ?? payload.sub;
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ message: `Hello, ${name}! You are authenticated.` }));
}).listen(port, '127.0.0.1', () => console.log(`node-api listening on 127.0.0.1:${port}`));

// Command example-api is a small API protected by Sesame access tokens, built
// with the rs kit. It serves:
//
//	GET /hello             any valid token: JWTs verified locally, other tokens introspected
//	GET /jwt/hello         JWT access tokens only, verified locally (no call to Sesame)
//	GET /introspect/hello  every token introspected (sees revocations at once)
//	GET /admin/hello       like /hello, and the token needs the admin scope (api:admin)
//
// each answering {"message": "Hello, <username>! You are authenticated."}.
//
// Usage:
//
//	example-api --issuer http://localhost:8080 --audience https://api.example.com \
//	    [--listen 127.0.0.1:8081] [--client-id ID --client-secret S]
//
// The client id and secret (or EXAMPLE_API_CLIENT_ID / EXAMPLE_API_CLIENT_SECRET)
// are a Sesame client holding the sesame:introspect scope; without them the
// introspection routes are not served.
//
// It imports no Sesame package but rs, as any third-party API would.
package main

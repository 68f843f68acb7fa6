// Command example-mcp is a small MCP server (Model Context Protocol,
// streamable HTTP transport, on the official go-sdk) protected by Sesame
// access tokens through the rs kit, as the MCP authorization spec asks:
//
//	POST /mcp                                     the MCP endpoint; a valid token for PUBLIC-URL/mcp
//	GET  /.well-known/oauth-protected-resource/mcp  RFC 9728 metadata: Sesame issues the tokens
//
// Two tools keep notes per user (the token's sub), each with its scope:
//
//	list_notes   notes:read
//	add_note     notes:write
//
// A request without a token is 401 with `WWW-Authenticate: Bearer …,
// resource_metadata="…"`, which is where an MCP client starts: it reads
// the metadata, then Sesame's, registers (a client ID metadata document,
// or dynamic registration), and runs authorization code + PKCE with
// resource=PUBLIC-URL/mcp (RFC 8707) so the token's aud is this server.
// A token for another resource is 401; a tools/call whose tool needs a
// scope the token lacks is 403 insufficient_scope with scope="…", so the
// client can ask the user for that scope and retry (step-up).
//
// Usage:
//
//	example-mcp --issuer http://localhost:8080 [--listen 127.0.0.1:8082] \
//	    [--public-url https://mcp.example.com] [--client-id ID --client-secret S]
//
// The server's resource identifier, PUBLIC-URL/mcp, must be registered
// with Sesame (`sesame resources create --uri … --scopes "notes:read
// notes:write"`). JWT access tokens are verified locally; with a client
// holding sesame:introspect (--client-id, --client-secret) opaque tokens
// are introspected too. docs/mcp.md walks through it.
//
// It imports no Sesame package but rs, as any third-party server would.
package main

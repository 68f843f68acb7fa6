package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sesameauth/sesame/rs"
)

// newHandler builds the token checks, the RFC 9728 document and the MCP
// endpoint:
//
//	GET /.well-known/oauth-protected-resource/mcp   public metadata
//	/mcp   rs.Middleware → per-tool scopes → token info for the SDK → MCP
func newHandler(ctx context.Context, o options, log *slog.Logger) (http.Handler, error) {
	resource := o.resource()
	verifier, err := rs.NewVerifier(ctx, rs.Config{Issuer: o.issuer, Audience: resource, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("set up JWT verification: %w", err)
	}
	var introspector *rs.Introspector
	if o.clientID != "" {
		introspector, err = rs.NewIntrospector(ctx, rs.IntrospectionConfig{
			Issuer: o.issuer, ClientID: o.clientID, ClientSecret: o.clientSecret, Audience: resource, Logger: log,
		})
		if err != nil {
			return nil, fmt.Errorf("set up introspection: %w", err)
		}
	}

	// RFC 9728 (required by the MCP authorization spec): a client that
	// knows only this server's URL reads here which authorization server
	// issues its tokens and which scopes it understands.
	meta := rs.ProtectedResource{
		Resource:             resource,
		AuthorizationServers: []string{o.issuer},
		ScopesSupported:      allScopes(),
		ResourceName:         "Notes (example MCP server)",
	}
	mux := http.NewServeMux()
	if err := meta.Mount(mux); err != nil {
		return nil, err
	}

	server := mcp.NewServer(&mcp.Implementation{Name: "example-mcp", Version: "1.0.0"}, &mcp.ServerOptions{Logger: log})
	newNotes().addTools(server)
	// Stateless: every POST stands alone, with its own token. The tools
	// never call back into the client, so sessions would only be state
	// to lose on restart and to bind to a user. For the same reason an
	// answer is one JSON body rather than an event stream: nothing is
	// ever streamed.
	//
	// The SDK refuses a request that reaches a loopback address under a
	// non-loopback Host, against DNS rebinding of local servers. Behind
	// a reverse proxy on the same machine (--public-url
	// https://mcp.example.com) that is every request, and here each one
	// needs a token that a rebinding page does not have; so the check
	// stays on only while the public URL is a loopback one.
	mcpHandler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server },
		&mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true, Logger: log,
			DisableLocalhostProtection: !o.loopback()})

	// Every refusal (401, 403) carries resource_metadata="…" so that the
	// client can start the discovery above (MCP authorization, RFC 9728 §5.1).
	protect := rs.Middleware(rs.NewAuthenticator(verifier, introspector),
		rs.WithRealm("example-mcp"), rs.WithResourceMetadata(meta.MetadataURL()))
	mux.Handle(mcpPath, protect(requireToolScopes(toTokenInfo(mcpHandler))))
	return mux, nil
}

// toTokenInfo hands the Principal that rs.Middleware verified to the SDK
// as an auth.TokenInfo, which the SDK passes to each tool call
// (req.Extra.TokenInfo). The SDK's own middleware is the one exported way
// to put it there; its verifier here checks nothing again, it only
// copies, and leaves expiry to rs, which has checked it. (The SDK's
// middleware reads Bearer credentials only, so this server takes no
// DPoP-bound tokens.)
func toTokenInfo(next http.Handler) http.Handler {
	fromPrincipal := func(ctx context.Context, _ string, _ *http.Request) (*auth.TokenInfo, error) {
		p := rs.FromContext(ctx)
		if p == nil {
			return nil, auth.ErrInvalidToken // not reached: rs.Middleware runs first
		}
		return &auth.TokenInfo{Scopes: p.Scopes, Expiration: p.Expiry, UserID: p.Subject,
			Extra: map[string]any{"client_id": p.ClientID, "username": p.DisplayName()}}, nil
	}
	return auth.RequireBearerToken(fromPrincipal, &auth.RequireBearerTokenOptions{AllowMissingExpiration: true})(next)
}

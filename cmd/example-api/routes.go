package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/sesameauth/sesame/rs"
)

// newHandler builds the verifier (and introspector when credentials are
// given) and mounts the routes.
func newHandler(ctx context.Context, o options, log *slog.Logger) (http.Handler, error) {
	verifier, err := rs.NewVerifier(ctx, rs.Config{Issuer: o.issuer, Audience: o.audience, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("set up JWT verification: %w", err)
	}
	var introspector *rs.Introspector
	if o.clientID != "" {
		introspector, err = rs.NewIntrospector(ctx, rs.IntrospectionConfig{
			Issuer:       o.issuer,
			ClientID:     o.clientID,
			ClientSecret: o.clientSecret,
			Audience:     o.audience,
			CacheTTL:     o.cacheTTL,
			Logger:       log,
		})
		if err != nil {
			return nil, fmt.Errorf("set up introspection: %w", err)
		}
	} else {
		log.Warn("no --client-id/--client-secret: /introspect/hello is not served and /hello accepts JWTs only")
	}

	mux := http.NewServeMux()
	// RFC 9728: the API's metadata names Sesame, and every 401/403 points
	// at it, so a client that knows only this API's URL can find where to
	// get a token.
	meta := rs.ProtectedResource{
		Resource: o.audience, AuthorizationServers: []string{o.issuer},
		ScopesSupported: []string{"api:read", o.adminScope}, ResourceName: "Hello API",
	}
	var opts []rs.Option
	if err := meta.Mount(mux); err != nil {
		log.Warn("no protected resource metadata: --audience is not an https URL", "err", err)
	} else {
		opts = append(opts, rs.WithResourceMetadata(strings.TrimSuffix(o.publicURL, "/")+meta.MetadataPath()))
	}
	realm := append([]rs.Option{rs.WithRealm("example-api")}, opts...)
	anyToken := rs.Middleware(rs.NewAuthenticator(verifier, introspector), realm...)
	mux.Handle("GET /hello", anyToken(http.HandlerFunc(hello)))
	mux.Handle("GET /jwt/hello", rs.Middleware(verifier, realm...)(http.HandlerFunc(hello)))
	if introspector != nil {
		mux.Handle("GET /introspect/hello", rs.Middleware(introspector, realm...)(http.HandlerFunc(hello)))
	}
	mux.Handle("GET /admin/hello", anyToken(rs.RequireScopes(o.adminScope)(http.HandlerFunc(hello))))
	return mux, nil
}

// hello is the article's example: greet the authenticated user by name.
func hello(w http.ResponseWriter, r *http.Request) {
	p := rs.FromContext(r.Context())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"message": fmt.Sprintf("Hello, %s! You are authenticated.", p.DisplayName()),
	})
}

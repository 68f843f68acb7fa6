package rs_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/sesameauth/sesame/rs"
)

// A resource server that verifies JWT access tokens locally, introspects
// opaque ones, and needs api:admin on one route.
func Example() {
	ctx := context.Background()
	issuer := "https://sesame.example.com"

	verifier, err := rs.NewVerifier(ctx, rs.Config{
		Issuer:   issuer,
		Audience: "https://api.example.com",
	})
	if err != nil {
		log.Fatal(err)
	}
	introspector, err := rs.NewIntrospector(ctx, rs.IntrospectionConfig{
		Issuer:       issuer,
		ClientID:     "my-api",
		ClientSecret: os.Getenv("MY_API_CLIENT_SECRET"),
		CacheTTL:     30 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	auth := rs.Middleware(rs.NewAuthenticator(verifier, introspector), rs.WithRealm("my-api"))

	mux := http.NewServeMux()
	mux.Handle("GET /hello", auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := rs.FromContext(r.Context())
		fmt.Fprintf(w, "Hello, %s!\n", p.DisplayName())
	})))
	mux.Handle("GET /admin", auth(rs.RequireScopes("api:admin")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "welcome, admin")
	}))))
	log.Fatal(http.ListenAndServe(":8081", mux))
}

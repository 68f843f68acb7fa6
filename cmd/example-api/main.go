package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "example-api:", err)
		os.Exit(1)
	}
}

type options struct {
	issuer, audience, listen string
	publicURL                string
	clientID, clientSecret   string
	adminScope               string
	cacheTTL                 time.Duration
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("example-api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.issuer, "issuer", envOr(getenv, "EXAMPLE_API_ISSUER", "http://localhost:8080"), "Sesame issuer URL (env EXAMPLE_API_ISSUER)")
	fs.StringVar(&o.audience, "audience", getenv("EXAMPLE_API_AUDIENCE"), "this API's identifier, required in the tokens' aud (env EXAMPLE_API_AUDIENCE)")
	fs.StringVar(&o.listen, "listen", envOr(getenv, "EXAMPLE_API_LISTEN", "127.0.0.1:8081"), "listen address (env EXAMPLE_API_LISTEN)")
	fs.StringVar(&o.clientID, "client-id", getenv("EXAMPLE_API_CLIENT_ID"), "client id for introspection (env EXAMPLE_API_CLIENT_ID)")
	fs.StringVar(&o.clientSecret, "client-secret", getenv("EXAMPLE_API_CLIENT_SECRET"), "client secret for introspection (env EXAMPLE_API_CLIENT_SECRET)")
	fs.StringVar(&o.adminScope, "admin-scope", "api:admin", "scope /admin/hello requires")
	fs.StringVar(&o.publicURL, "public-url", getenv("EXAMPLE_API_PUBLIC_URL"), "where clients reach this API, for the resource_metadata URL in challenges (default http://LISTEN-ADDRESS; env EXAMPLE_API_PUBLIC_URL)")
	fs.DurationVar(&o.cacheTTL, "introspection-cache", 0, "reuse active introspection answers this long (0 = ask every time)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.audience == "" {
		return o, errors.New("--audience is required")
	}
	if (o.clientID == "") != (o.clientSecret == "") {
		return o, errors.New("--client-id and --client-secret go together")
	}
	return o, nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// run serves until ctx ends. ready, when not nil, receives the bound address
// (tests listen on port 0).
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, ready chan<- string) error {
	o, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.listen, err)
	}
	if o.publicURL == "" {
		o.publicURL = "http://" + ln.Addr().String()
	}
	h, err := newHandler(ctx, o, log)
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Info("example-api listening", "addr", ln.Addr().String(), "issuer", o.issuer, "audience", o.audience)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

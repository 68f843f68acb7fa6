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
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "example-mcp:", err)
		os.Exit(1)
	}
}

// mcpPath is where the MCP endpoint is served. Its absolute URL is the
// server's resource identifier (MCP authorization, "canonical server
// URI"): the URI registered with `sesame resources create` and the aud
// of the tokens it accepts.
const mcpPath = "/mcp"

type options struct {
	issuer, listen, publicURL string
	clientID, clientSecret    string
}

// resource is the MCP endpoint's absolute URL, the resource identifier.
func (o options) resource() string { return strings.TrimSuffix(o.publicURL, "/") + mcpPath }

// loopback reports whether clients reach this server on a loopback name.
func (o options) loopback() bool {
	u, err := url.Parse(o.publicURL)
	if err != nil {
		return true
	}
	h := u.Hostname()
	if ip, err := netip.ParseAddr(h); err == nil {
		return ip.IsLoopback()
	}
	return h == "localhost"
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("example-mcp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.issuer, "issuer", envOr(getenv, "EXAMPLE_MCP_ISSUER", "http://localhost:8080"), "Sesame issuer URL (env EXAMPLE_MCP_ISSUER)")
	fs.StringVar(&o.listen, "listen", envOr(getenv, "EXAMPLE_MCP_LISTEN", "127.0.0.1:8082"), "listen address (env EXAMPLE_MCP_LISTEN)")
	fs.StringVar(&o.publicURL, "public-url", getenv("EXAMPLE_MCP_PUBLIC_URL"), "where clients reach this server; the resource identifier is PUBLIC-URL/mcp (default http://LISTEN-ADDRESS; env EXAMPLE_MCP_PUBLIC_URL)")
	fs.StringVar(&o.clientID, "client-id", getenv("EXAMPLE_MCP_CLIENT_ID"), "client id for introspecting opaque tokens (env EXAMPLE_MCP_CLIENT_ID)")
	fs.StringVar(&o.clientSecret, "client-secret", getenv("EXAMPLE_MCP_CLIENT_SECRET"), "client secret for introspection (env EXAMPLE_MCP_CLIENT_SECRET)")
	if err := fs.Parse(args); err != nil {
		return o, err
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

// run parses the flags, listens and serves until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	o, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.listen, err)
	}
	return serve(ctx, o, ln, slog.New(slog.NewTextHandler(stderr, nil)))
}

// serve serves on ln until ctx ends. It is run's second half, apart so
// that a test can bind the listener first: the authorization server must
// know the resource URL (the port) before this server starts.
func serve(ctx context.Context, o options, ln net.Listener, log *slog.Logger) error {
	if o.publicURL == "" {
		o.publicURL = "http://" + ln.Addr().String()
	}
	h, err := newHandler(ctx, o, log)
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Info("example-mcp listening", "addr", ln.Addr().String(), "issuer", o.issuer, "resource", o.resource())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// In-flight tool calls may finish; after 5 s the rest is cut off.
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

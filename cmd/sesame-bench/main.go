// Command sesame-bench measures an OAuth 2.0 / OpenID Connect server: it
// drives one flow at a fixed concurrency for a fixed duration or request
// count and prints throughput, latency percentiles and errors by kind.
// Endpoints come from the issuer's discovery document, so the same command
// measures Sesame, Ory Hydra or any other compliant server.
//
//	sesame-bench --issuer http://127.0.0.1:8080 --flow client_credentials \
//	    --client-id bench --client-secret "$SECRET" -c 16 -d 10s
//
// The flag parsing and output live here; the engine is internal/bench.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sesameauth/sesame/internal/bench"
)

func main() {
	// The load generator shares the machine with the server it measures:
	// collecting less often leaves more CPU to the server, whichever
	// server it is (GOGC still wins when set).
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, isTerminal(os.Stderr)))
}

// errUsage marks errors whose fix is a different command line.
var errUsage = errors.New("usage")

// run is main without the process: tests call it with their own writers.
// It returns the exit status: 0 when the run happened (even with request
// errors, which the report shows), 1 when it could not, 2 on bad usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, stderrTTY bool) int {
	var (
		cfg      bench.Config
		asJSON   bool
		progress bool
	)
	cmd := &cobra.Command{
		Use:   "sesame-bench --issuer URL --flow FLOW [flags]",
		Short: "Load-test an OAuth 2.0 / OpenID Connect server",
		Long: "Drives one flow (" + strings.Join(bench.Flows, ", ") + ") at a fixed concurrency\n" +
			"for --duration or --requests (whichever comes first, never longer than --max-duration)\n" +
			"and prints throughput, latency p50/p90/p99/max and errors by kind. Ctrl-C prints the partial report.\n" +
			"Secrets may come from SESAME_BENCH_CLIENT_SECRET and SESAME_BENCH_PASSWORD instead of flags.",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.ClientSecret == "" {
				cfg.ClientSecret = os.Getenv("SESAME_BENCH_CLIENT_SECRET")
			}
			if cfg.Password == "" {
				cfg.Password = os.Getenv("SESAME_BENCH_PASSWORD")
			}
			if !cmd.Flags().Changed("progress") {
				progress = stderrTTY
			}
			if progress {
				cfg.Progress, cfg.ProgressTTY = stderr, stderrTTY
			}
			rep, err := bench.Run(ctx, cfg)
			if err != nil {
				return err
			}
			if asJSON {
				return rep.WriteJSON(stdout)
			}
			return rep.WriteTable(stdout)
		},
	}
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return fmt.Errorf("%w: %w", errUsage, err) })

	f := cmd.Flags()
	f.StringVar(&cfg.Issuer, "issuer", "", "issuer URL; endpoints come from <issuer>/.well-known/openid-configuration")
	f.StringVar(&cfg.Flow, "flow", bench.FlowClientCredentials, "flow to drive: "+strings.Join(bench.Flows, "|"))
	f.IntVarP(&cfg.Concurrency, "concurrency", "c", 16, "concurrent workers")
	f.DurationVarP(&cfg.Duration, "duration", "d", 0, "measured duration after warm-up (default 10s when --requests is not given)")
	f.Int64VarP(&cfg.Requests, "requests", "n", 0, "measured iterations (0 = bounded by --duration only)")
	f.DurationVar(&cfg.Warmup, "warmup", 0, "run unmeasured for this long first")
	f.DurationVar(&cfg.MaxDuration, "max-duration", bench.DefaultMaxDuration, "hard cap on the whole run, set-up included")
	f.DurationVar(&cfg.Timeout, "timeout", bench.DefaultTimeout, "timeout of each HTTP request")
	f.StringVar(&cfg.ClientID, "client-id", "", "client id")
	f.StringVar(&cfg.ClientSecret, "client-secret", "", "client secret (or SESAME_BENCH_CLIENT_SECRET); empty means a public client")
	f.StringVar(&cfg.Username, "username", "", "resource owner for password, refresh, authorization_code, userinfo")
	f.StringVar(&cfg.Password, "password", "", "resource owner's password (or SESAME_BENCH_PASSWORD)")
	f.StringVar(&cfg.Scope, "scope", "", "scope to request (refresh adds offline_access; authorization_code and userinfo add openid)")
	f.StringVar(&cfg.Audience, "audience", "", "audience to request (space-separated)")
	f.StringVar(&cfg.RedirectURI, "redirect-uri", "", "registered redirect URI (authorization_code); never fetched")
	f.BoolVar(&cfg.KeepSession, "keep-session", false, "authorization_code: keep each worker's cookies, measuring single sign-on after the first login")
	f.StringVar(&cfg.IntrospectClientID, "introspect-client-id", "", "client that calls the introspection endpoint (default --client-id)")
	f.StringVar(&cfg.IntrospectClientSecret, "introspect-client-secret", "", "its secret")
	f.StringVar(&cfg.TokenAuth, "token-auth", bench.TokenAuthBasic, "client authentication: basic (client_secret_basic) or post (client_secret_post)")
	f.StringVar(&cfg.HealthURL, "health-url", "", "URL the health flow GETs (default <issuer>/healthz)")
	f.BoolVar(&cfg.Insecure, "insecure", false, "skip TLS certificate verification (self-signed test servers only)")
	f.BoolVar(&cfg.CompareHealth, "compare-health", false, "run the health flow with the same bounds first and report the ratio")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.BoolVar(&progress, "progress", false, "print a progress line on stderr every second (default: when stderr is a terminal)")

	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "sesame-bench:", err)
		if errors.Is(err, errUsage) || errors.Is(err, bench.ErrConfig) {
			return 2
		}
		return 1
	}
	return 0
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

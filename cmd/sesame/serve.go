package main

import (
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sesameauth/sesame/internal/server"
)

func newServeCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the authorization server",
		Long: `Run the authorization server until SIGINT or SIGTERM, then finish in-flight
requests (up to SESAME_SHUTDOWN_TIMEOUT) and exit.

Pending schema migrations are applied at start-up unless --no-migrate.
On the first start of an empty SQLite store a demo user and client are
created and their credentials printed once (SESAME_DEMO=false to skip).`,
		Args: cobra.NoArgs,
		RunE: e.runE(func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			// After the first signal, restore the default handling so a
			// second Ctrl-C ends a shutdown that hangs.
			go func() { <-ctx.Done(); stop() }()
			tuneGC()
			srv, err := server.New(ctx, e.cfg, e.logger, server.WithOutput(e.stdout))
			if err != nil {
				return err
			}
			return srv.Run(ctx)
		}),
	}
	f := cmd.Flags()
	f.Bool("no-migrate", false, "do not apply pending migrations at start-up (SESAME_AUTO_MIGRATE=false)")
	addSettingFlags(f,
		"SESAME_ISSUER", "SESAME_LISTEN", "SESAME_TLS_CERT", "SESAME_TLS_KEY",
		"SESAME_ACCESS_TOKEN_LIFETIME", "SESAME_REFRESH_TOKEN_LIFETIME", "SESAME_ID_TOKEN_LIFETIME",
		"SESAME_AUTH_CODE_LIFETIME", "SESAME_ROTATE_REFRESH_TOKENS", "SESAME_REFRESH_REUSE_GRACE",
		"SESAME_REVOCATION_CACHE_TTL",
		"SESAME_ACCESS_TOKEN_FORMAT", "SESAME_ID_TOKEN_SIGNING_ALG", "SESAME_ACCESS_TOKEN_SIGNING_ALG",
		"SESAME_KEY_ROTATION_INTERVAL", "SESAME_RSA_KEY_BITS",
		"SESAME_ARGON2_MEMORY_KIB", "SESAME_ARGON2_ITERATIONS", "SESAME_ARGON2_PARALLELISM",
		"SESAME_OPEN_REGISTRATION", "SESAME_DEMO", "SESAME_SHUTDOWN_TIMEOUT",
		"SESAME_ALLOW_SECRET_IN_CONFIG",
		"SESAME_TRUSTED_PROXIES", "SESAME_RATE_LIMIT_ENABLED",
		"SESAME_RATE_LIMIT_API_RPS", "SESAME_RATE_LIMIT_API_BURST",
		"SESAME_RATE_LIMIT_BROWSER_RPS", "SESAME_RATE_LIMIT_BROWSER_BURST",
		"SESAME_BRUTE_FORCE_ENABLED", "SESAME_BRUTE_FORCE_MAX_FAILURES",
		"SESAME_BRUTE_FORCE_BASE_LOCK", "SESAME_BRUTE_FORCE_MAX_LOCK", "SESAME_MAX_BODY_BYTES",
	)
	return cmd
}

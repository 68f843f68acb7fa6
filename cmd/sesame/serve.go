package main

import (
	"os/signal"
	"slices"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sesameauth/sesame/internal/config"
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
		Example: `  sesame serve                                   # SQLite demo on http://localhost:8080
  sesame serve --listen 0.0.0.0:8080 --issuer https://auth.example.com
  SESAME_DATABASE_URL=postgres://… SESAME_SECRET_FILE=/run/secrets/sesame sesame serve --log-format json`,
		Args: cobra.NoArgs,
		RunE: e.runE(func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			// After the first signal, restore the default handling so a
			// second Ctrl-C ends a shutdown that hangs.
			go func() { <-ctx.Done(); stop() }()
			if err := e.checkSecret(); err != nil {
				return err
			}
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
	addSettingFlags(f, serveSettings()...)
	return cmd
}

// globalSettings are the settings every command takes (root persistent
// flags); every other setting except SESAME_AUTO_MIGRATE (serve
// --no-migrate) is a serve flag, so a new setting gets its flag for free.
var globalSettings = []string{"SESAME_DATABASE_URL", "SESAME_DATABASE_LISTEN_URL", "SESAME_SECRET_FILE", "SESAME_SECRET",
	"SESAME_LOG_LEVEL", "SESAME_LOG_FORMAT"}

func serveSettings() []string {
	var out []string
	for _, s := range config.Settings() {
		if s.Env == "SESAME_AUTO_MIGRATE" || slices.Contains(globalSettings, s.Env) {
			continue
		}
		out = append(out, s.Env)
	}
	return out
}

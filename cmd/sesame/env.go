package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/config"
	"github.com/sesameauth/sesame/internal/password"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/internal/server"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/dial"
)

// actor is how CLI changes are attributed in the audit log.
const actor = "cli"

// env is what every command shares: configuration, logger, and — opened on
// first use — the store and the use-case service. A new command file gets
// it through its constructor: root.AddCommand(newThingCmd(e)).
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	configFile string
	cfg        config.Config
	logger     *slog.Logger
	// ran is set when a command's own code starts, to tell usage errors
	// (cobra rejected the line) from runtime failures.
	ran bool

	store    storage.Store
	migrator dial.Migrator
	ring     *secret.Keyring
	svc      *app.Service
}

// loadConfig builds the configuration from file, environment and the flags
// the user set on this command line.
func (e *env) loadConfig(cmd *cobra.Command) error {
	flags := map[string]string{}
	for _, s := range config.Settings() {
		if f := cmd.Flags().Lookup(s.Flag()); f != nil && f.Changed {
			flags[s.Env] = f.Value.String()
		}
	}
	if f := cmd.Flags().Lookup("no-migrate"); f != nil && f.Changed && f.Value.String() == "true" {
		flags["SESAME_AUTO_MIGRATE"] = "false"
	}
	cfg, err := config.Load(config.Sources{File: e.configFile, Flags: flags})
	if err != nil {
		return usageError{err}
	}
	e.cfg = cfg
	e.logger = newLogger(cfg, e.stderr)
	return nil
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openStore connects to the database without touching the schema.
func (e *env) openStore(ctx context.Context) (dial.Migrator, error) {
	if e.store == nil {
		st, mig, err := dial.Open(ctx, e.cfg.DatabaseURL)
		if err != nil {
			return nil, infraError{err}
		}
		e.store, e.migrator = st, mig
	}
	return e.migrator, nil
}

// open returns the service on a store whose schema is current: pending
// migrations are applied when SESAME_AUTO_MIGRATE is on (the default, so
// `sesame users create` works on a fresh SQLite file) and refused otherwise.
func (e *env) open(ctx context.Context) (*app.Service, error) {
	if e.svc != nil {
		return e.svc, nil
	}
	mig, err := e.openStore(ctx)
	if err != nil {
		return nil, err
	}
	if e.cfg.AutoMigrate {
		if _, err := mig.Migrate(ctx); err != nil {
			return nil, infraError{fmt.Errorf("apply migrations: %w", err)}
		}
	} else if n, err := pendingMigrations(ctx, mig); err != nil {
		return nil, err
	} else if n > 0 {
		return nil, infraError{fmt.Errorf("%d schema migration(s) pending: run `sesame migrate up`", n)}
	}
	ring, _, err := e.cfg.Keyring()
	if err != nil {
		return nil, usageError{err}
	}
	e.ring = ring
	// Client writes from the CLI reach running servers at once (their
	// client caches are told over Postgres NOTIFY; SQLite: 5 s cache TTL).
	e.svc = app.New(server.AnnounceClientWrites(e.store, e.logger), ring, password.Params{
		MemoryKiB: e.cfg.Argon2MemoryKiB, Iterations: e.cfg.Argon2Iterations, Parallelism: e.cfg.Argon2Parallelism,
	}, nil)
	return e.svc, nil
}

func pendingMigrations(ctx context.Context, mig dial.Migrator) (int, error) {
	status, err := mig.MigrationStatus(ctx)
	if err != nil {
		return 0, infraError{fmt.Errorf("migration status: %w", err)}
	}
	n := 0
	for _, s := range status {
		if !s.Applied {
			n++
		}
	}
	return n, nil
}

func (e *env) close() {
	if e.store != nil {
		_ = e.store.Close()
		e.store = nil
	}
}

// runE wraps a command body: it marks the command as started (for the
// exit status) and hands it the shared env.
func (e *env) runE(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		e.ran = true
		return fn(cmd, args)
	}
}

// addSettingFlags registers command-line flags for configuration settings
// (by env name). Every flag is a string parsed by config, so a bad value
// is reported with the setting's name; boolean settings accept a bare
// --flag for true.
func addSettingFlags(fs *pflag.FlagSet, envs ...string) {
	for _, env := range envs {
		s, ok := config.Lookup(env)
		if !ok {
			panic("unknown setting " + env)
		}
		usage := s.Usage + " (" + s.Env + ")"
		fs.String(s.Flag(), s.Default, usage)
		if s.Default == "true" || s.Default == "false" {
			fs.Lookup(s.Flag()).NoOptDefVal = "true"
		}
	}
}

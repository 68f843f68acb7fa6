package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

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
		return usageError{flagNamed(cmd, err)}
	}
	// A given secret is checked now, before any command touches a store.
	if cfg.Secret != "" || cfg.SecretFile != "" {
		if err := cfg.CheckSecret(); err != nil {
			return usageError{flagNamed(cmd, err)}
		}
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
		st, mig, err := dial.OpenWith(ctx, e.cfg.DatabaseURL, dial.Options{ListenURL: e.cfg.DatabaseListenURL})
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
	// A bad secret is the user's input: say so before a database file
	// is created or migrated.
	if err := e.checkSecret(); err != nil {
		return nil, err
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
	}, nil).WithPasswordMinLength(e.cfg.PasswordMinLength).WithAccounts(server.AccountSettings(e.cfg))
	return e.svc, nil
}

// checkSecret validates the system secret without creating anything.
func (e *env) checkSecret() error {
	if err := e.cfg.CheckSecret(); err != nil {
		return usageError{err}
	}
	return nil
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
// (by env name). Each flag checks its value as it is parsed (so the error
// names the flag) but hands config the raw string, so flag, env and YAML
// share one parser; --help shows the setting's type, and boolean settings
// accept a bare --flag for true.
func addSettingFlags(fs *pflag.FlagSet, envs ...string) {
	for _, env := range envs {
		s, ok := config.Lookup(env)
		if !ok {
			panic("unknown setting " + env)
		}
		// pflag reads a backquoted word in the usage as the value's
		// name; the README's backquotes become plain quotes here.
		usage := strings.ReplaceAll(s.Usage, "`", "'") + " (" + s.Env + ")"
		fs.Var(&settingValue{s: s, v: s.Default}, s.Flag(), usage)
		if s.Kind == config.KindBool {
			fs.Lookup(s.Flag()).NoOptDefVal = "true"
		}
	}
}

// settingValue is a pflag.Value for one setting.
type settingValue struct {
	s config.Setting
	v string
}

func (v *settingValue) String() string { return v.v }
func (v *settingValue) Type() string   { return string(v.s.Kind) }
func (v *settingValue) Set(x string) error {
	if err := v.s.Check(x); err != nil {
		return err
	}
	v.v = x
	return nil
}

// flagNamed rewrites a configuration error about a setting the user gave
// as a flag so that it names the flag too ("invalid --issuer
// (SESAME_ISSUER) …").
func flagNamed(cmd *cobra.Command, err error) error {
	msg := err.Error()
	for _, s := range config.Settings() {
		f := cmd.Flags().Lookup(s.Flag())
		if f == nil || !f.Changed || !strings.Contains(msg, s.Env) || strings.Contains(msg, "--"+s.Flag()) {
			continue
		}
		msg = strings.Replace(msg, s.Env, "--"+s.Flag()+" ("+s.Env+")", 1)
	}
	return errors.New(msg)
}

package main

import (
	"github.com/spf13/cobra"
)

func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "sesame",
		Short: "Sesame: an OAuth 2.0 and OpenID Connect authorization server",
		Long: `Sesame is an OAuth 2.0 / OpenID Connect authorization server and its admin CLI.

Settings come from flags, then SESAME_* environment variables, then an
optional YAML file (--config). The CLI talks to the store named by
SESAME_DATABASE_URL directly.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Commands that only print help or the version need no config.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if !needsConfig(cmd) {
				return nil
			}
			return e.loadConfig(cmd)
		},
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })

	pf := root.PersistentFlags()
	pf.StringVar(&e.configFile, "config", "", "YAML configuration file (keys like access_token_lifetime: 15m)")
	addSettingFlags(pf, "SESAME_DATABASE_URL", "SESAME_SECRET_FILE", "SESAME_SECRET",
		"SESAME_LOG_LEVEL", "SESAME_LOG_FORMAT")

	root.AddCommand(
		newServeCmd(e),
		newMigrateCmd(e),
		newUsersCmd(e),
		newClientsCmd(e),
		newAuditCmd(e),
		newTokensCmd(e),
		newGroupsCmd(e),
		newImportCmd(e),
		newKeysCmd(e),
		newVersionCmd(e),
	)
	return root
}

// needsConfig is false for commands that only print (version, help, shell
// completion), so they work even when the configuration is broken.
func needsConfig(cmd *cobra.Command) bool {
	for c := cmd; c != nil; c = c.Parent() {
		if c.Annotations["noconfig"] == "true" || c.Name() == "help" || c.Name() == "completion" ||
			c.Name() == cobra.ShellCompRequestCmd || c.Name() == cobra.ShellCompNoDescRequestCmd {
			return false
		}
	}
	return true
}

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
	addSettingFlags(pf, globalSettings...)

	root.AddCommand(
		newServeCmd(e),
		newMigrateCmd(e),
		newUsersCmd(e),
		newClientsCmd(e),
		newAuditCmd(e),
		newTokensCmd(e),
		newGroupsCmd(e),
		newResourcesCmd(e),
		newImportCmd(e),
		newKeysCmd(e),
		newUpstreamsCmd(e),
		newMailCmd(e),
		newVersionCmd(e),
	)
	rejectUnknownSubcommands(root)
	return root
}

// rejectUnknownSubcommands makes every command group (users, clients, …)
// refuse an unknown subcommand with exit status 1, where cobra would print
// the group's help and exit 0. A bare group still prints its help.
func rejectUnknownSubcommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		rejectUnknownSubcommands(sub)
	}
	if !c.HasParent() || !c.HasSubCommands() || c.Runnable() {
		return
	}
	c.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usagef("unknown command %q for %q (see %s --help)", args[0], cmd.CommandPath(), cmd.CommandPath())
		}
		return nil
	}
	c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
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

package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sesameauth/sesame/migrations"
)

func newMigrateCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply or inspect database schema migrations",
	}
	up := &cobra.Command{
		Use:   "up",
		Short: "Apply every pending migration",
		Args:  cobra.NoArgs,
		RunE: e.runE(func(cmd *cobra.Command, _ []string) error {
			mig, err := e.openStore(cmd.Context())
			if err != nil {
				return err
			}
			n, err := mig.Migrate(cmd.Context())
			if err != nil {
				return infraError{fmt.Errorf("apply migrations: %w", err)}
			}
			fmt.Fprintf(e.stdout, "applied %d migration(s); schema is up to date\n", n)
			return nil
		}),
	}
	var asJSON bool
	status := &cobra.Command{
		Use:   "status",
		Short: "List migrations and whether each is applied",
		Args:  cobra.NoArgs,
		RunE: e.runE(func(cmd *cobra.Command, _ []string) error {
			mig, err := e.openStore(cmd.Context())
			if err != nil {
				return err
			}
			st, err := mig.MigrationStatus(cmd.Context())
			if err != nil {
				return infraError{fmt.Errorf("migration status: %w", err)}
			}
			if asJSON {
				return writeJSON(e.stdout, listJSON[migrations.Status]{Items: st})
			}
			t := newTable(e.stdout, "VERSION", "NAME", "STATE")
			pending := 0
			for _, s := range st {
				state := "applied"
				if !s.Applied {
					state = "pending"
					pending++
				}
				t.row(fmt.Sprint(s.Version), s.Name, state)
			}
			if err := t.flush(); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%d pending\n", pending)
			return nil
		}),
	}
	status.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(up, status)
	return cmd
}

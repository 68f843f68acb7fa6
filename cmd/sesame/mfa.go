package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sesameauth/sesame/internal/app"
)

// newUsersMFACmd is `sesame users mfa`: administering a user's second
// factors (SPEC part two).
func newUsersMFACmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "mfa", Short: "Manage a user's second factors"}
	cmd.AddCommand(newUsersMFAResetCmd(e))
	return cmd
}

// newUsersMFAResetCmd is `sesame users mfa reset NAME`: every second factor
// and recovery code of the user is removed (a lost phone), audited.
func newUsersMFAResetCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "reset USERNAME|ID",
		Short: "Remove every second factor (authenticator app, passkeys, recovery codes) of a user",
		Args:  cobra.ExactArgs(1),
		RunE: e.runE(func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, err := e.open(ctx)
			if err != nil {
				return err
			}
			u, err := svc.GetUser(ctx, args[0])
			if err != nil {
				return err
			}
			n, err := svc.ResetFactors(ctx, actor, u)
			if err != nil {
				return infraError{fmt.Errorf("reset second factors: %w", err)}
			}
			if asJSON {
				return writeJSON(e.stdout, struct {
					ID       string `json:"id"`
					Username string `json:"username"`
					Removed  int    `json:"removed"`
				}{u.ID, u.Username, n})
			}
			fmt.Fprintf(e.stdout, "second factors of %s reset (%d removed)\n", u.Username, n)
			return nil
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// factorSummary is the `users get` line of a user's factors.
func factorSummary(fs []app.FactorView) string {
	if len(fs) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		p := f.Kind
		if f.Name != "" {
			p += " (" + f.Name + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sesameauth/sesame/internal/app"
)

// newClientsRegistrationTokenCmd is `sesame clients registration-token`:
// initial access tokens for RFC 7591 dynamic client registration
// (POST /oauth2/register). The token is created by the same code as
// POST /admin/registration-tokens.
func newClientsRegistrationTokenCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "registration-token", Short: "Manage initial access tokens for dynamic client registration"}
	cmd.AddCommand(newRegistrationTokenCreateCmd(e))
	return cmd
}

func newRegistrationTokenCreateCmd(e *env) *cobra.Command {
	var (
		expiresIn   time.Duration
		maxUses     int
		description string
		asJSON      bool
	)
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an initial access token; prints it once",
		Long: `Create an initial access token. A client developer sends it as a bearer
token to POST /oauth2/register (RFC 7591) to register a client. Only its
SHA-256 is stored: the token is printed once.`,
		Example: `  sesame clients registration-token create
  sesame clients registration-token create --expires-in 168h --max-uses 5 --description "partner X" --json`,
		Args: cobra.NoArgs,
		RunE: e.runE(func(cmd *cobra.Command, _ []string) error {
			if expiresIn <= 0 {
				return usagef("--expires-in %s: must be positive", expiresIn)
			}
			if maxUses < 0 {
				return usagef("--max-uses %d: must not be negative (0 = unlimited)", maxUses)
			}
			if _, err := e.open(cmd.Context()); err != nil {
				return err
			}
			v, err := app.CreateRegistrationToken(cmd.Context(), e.store, actor, app.NewRegistrationToken{
				Description: description, ExpiresIn: expiresIn, MaxUses: maxUses,
			}, time.Now())
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(e.stdout, v)
			}
			uses := "unlimited"
			if v.MaxUses > 0 {
				uses = fmt.Sprint(v.MaxUses)
			}
			if err := kv(e.stdout, "token", v.Token, "id", v.ID, "expires_at", ts(v.ExpiresAt), "max_uses", uses); err != nil {
				return err
			}
			_, err = fmt.Fprintln(e.stderr, "The token is shown only now; store it safely.")
			return err
		}),
	}
	f := cmd.Flags()
	f.DurationVar(&expiresIn, "expires-in", app.DefaultRegistrationTokenTTL, "lifetime of the token (at most 8760h)")
	f.IntVar(&maxUses, "max-uses", 0, "how many clients it may register (0 = unlimited)")
	f.StringVar(&description, "description", "", "free-text note (who it is for)")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/config"
)

// newUsersInviteCmd is `sesame users invite EMAIL`: app.Invite makes the
// single-use /signup?invite=… link and queues the invitation mail; the
// link is printed too, so it can be handed over when mail cannot go out.
func newUsersInviteCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "invite EMAIL",
		Short: "Invite someone to create an account (prints the link and mails it)",
		Long: `Invite someone to create an account: a single-use link to /signup that
works for SESAME_EMAIL_LINK_LIFETIME (default 24h) and makes EMAIL the new
account's verified address. The link is printed and the invitation mail is
queued (a running 'sesame serve' sends it; with no SMTP server and a loopback
issuer it stays in the store: 'sesame mail list' shows it). Needs
SESAME_SIGNUP=invite or open.`,
		Example: `  SESAME_SIGNUP=invite sesame users invite alice@example.com
  sesame users invite alice@example.com --json`,
		Args: cobra.ExactArgs(1),
		RunE: e.runE(func(cmd *cobra.Command, args []string) error {
			svc, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			inv, err := svc.Invite(cmd.Context(), actor, args[0])
			if errors.Is(err, app.ErrSignupClosed) {
				// A setting, not a failure of the store: exit status 1.
				return usagef("sign-up is off (SESAME_SIGNUP=off): invitations need SESAME_SIGNUP=invite or open")
			}
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(e.stdout, inv)
			}
			fmt.Fprintln(e.stdout, inv.Link)
			fmt.Fprintf(e.stdout, "(works once, until %s)\n", ts(inv.ExpiresAt))
			switch {
			case !inv.Queued:
				fmt.Fprintf(e.stdout, "not mailed: no mail server is configured (SESAME_SMTP_URL); give the link to %s yourself\n", inv.Email)
			case e.cfg.MailDelivery() == config.MailStore:
				fmt.Fprintf(e.stdout, "invitation to %s queued; no SMTP server (demo): `sesame mail list` shows it\n", inv.Email)
			default:
				fmt.Fprintf(e.stdout, "invitation to %s queued; a running `sesame serve` sends it\n", inv.Email)
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

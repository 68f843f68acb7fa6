package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
)

func newMailCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "mail", Short: "Read the outgoing-mail queue"}
	var (
		limit  int
		asJSON bool
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "List outgoing mail, newest first, with the links it carries",
		Long: `List outgoing mail, newest first: recipient, subject, status (queued,
retrying, sent) and the links each message carries. With no SMTP server and
a loopback issuer (the demo) mail is kept here instead of being sent: open
the link from this list.`,
		Args: cobra.NoArgs,
		RunE: e.runE(func(cmd *cobra.Command, _ []string) error {
			svc, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			ms, err := svc.ListMail(cmd.Context(), limit)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(e.stdout, listJSON[app.MailView]{Items: ms})
			}
			t := newTable(e.stdout, "CREATED", "STATUS", "RECIPIENT", "SUBJECT", "LINKS")
			for _, m := range ms {
				t.row(ts(m.CreatedAt), m.Status, m.Recipient, m.Subject, orDash(strings.Join(m.Links, " ")))
			}
			return t.flush()
		}),
	}
	fl := list.Flags()
	fl.IntVar(&limit, "limit", storage.DefaultListLimit, "how many messages (max 500)")
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(list)
	return cmd
}

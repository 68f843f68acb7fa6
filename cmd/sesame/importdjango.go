package main

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sesameauth/sesame/internal/importer/django"
)

func newImportCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "import", Short: "Import users from another system"}
	cmd.AddCommand(newImportDjangoCmd(e))
	return cmd
}

func newImportDjangoCmd(e *env) *cobra.Command {
	var (
		from, client, scopes string
		dryRun, asJSON       bool
	)
	c := &cobra.Command{
		Use:   "django --from postgres://…|sqlite:PATH",
		Short: "Import users, groups and DRF tokens from a Django database, passwords intact",
		Long: "Reads auth_user, auth_group, auth_user_groups and DRF's authtoken_token and\n" +
			"creates or updates Sesame users by username (idempotent: run it again to\n" +
			"catch up; unchanged rows stay unchanged). Password hashes are copied and\n" +
			"verified natively at sign-in, then upgraded to argon2id. DRF token keys\n" +
			"keep working as personal access tokens issued to --client. Every skipped\n" +
			"row is reported with its reason. One transaction per batch of rows.",
		Args: cobra.NoArgs,
		RunE: e.runE(func(cmd *cobra.Command, _ []string) error {
			if from == "" {
				return usagef("--from is required (postgres://… or sqlite:PATH)")
			}
			ctx := cmd.Context()
			core, err := e.core(ctx)
			if err != nil {
				return err
			}
			opts := django.Options{From: from, DryRun: dryRun, Actor: actor, TokenClient: client}
			if client != "" {
				cl, err := e.svc.GetClient(ctx, client)
				if err != nil {
					return err
				}
				if cmd.Flags().Changed("scopes") {
					opts.TokenScopes = strings.Fields(scopes)
				} else {
					opts.TokenScopes = defaultTokenScopes(cl.Scopes)
				}
			}
			rep, err := django.Run(ctx, e.svc, core.OAuth, opts)
			switch {
			case errors.Is(err, django.ErrUnsupportedSchema), errors.Is(err, django.ErrNoDatabase):
				return usageError{err}
			case errors.Is(err, django.ErrSource):
				return infraError{err}
			case err != nil:
				return err
			}
			if asJSON {
				return writeJSON(e.stdout, rep)
			}
			return printImportReport(e, rep)
		}),
	}
	f := c.Flags()
	f.StringVar(&from, "from", "", "the Django database: postgres://… or sqlite:PATH (opened read-only)")
	f.StringVar(&client, "client", "", "client id DRF tokens are issued to (without it, tokens are skipped)")
	f.StringVar(&scopes, "scopes", "", `scopes of imported DRF tokens (default: the client's scopes but sesame:* and offline_access)`)
	f.BoolVar(&dryRun, "dry-run", false, "report what would change, write nothing")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return c
}

// defaultTokenScopes: what a DRF token could do — act as its user — not
// the administrative scopes a client may also hold.
func defaultTokenScopes(clientScopes []string) []string {
	var out []string
	for _, s := range clientScopes {
		if !strings.HasPrefix(s, "sesame:") && s != "offline_access" {
			out = append(out, s)
		}
	}
	return out
}

func printImportReport(e *env, rep *django.Report) error {
	w := e.stdout
	if rep.DryRun {
		fmt.Fprintln(w, "dry run: nothing was written")
	}
	t := newTable(w, "RECORDS", "CREATED", "UPDATED", "UNCHANGED", "SKIPPED")
	for _, r := range []struct {
		name string
		c    django.Counts
	}{{"users", rep.Users}, {"groups", rep.Groups}, {"memberships", rep.Memberships}, {"tokens", rep.Tokens}} {
		t.row(r.name, fmt.Sprint(r.c.Created), fmt.Sprint(r.c.Updated), fmt.Sprint(r.c.Unchanged), fmt.Sprint(r.c.Skipped))
	}
	if err := t.flush(); err != nil {
		return err
	}
	if len(rep.Passwords) > 0 {
		var parts []string
		for _, alg := range slices.Sorted(maps.Keys(rep.Passwords)) {
			parts = append(parts, fmt.Sprintf("%s %d", alg, rep.Passwords[alg]))
		}
		fmt.Fprintln(w, "password hashes:", strings.Join(parts, ", "))
	}
	for _, r := range rep.Skipped {
		fmt.Fprintf(w, "skipped %s %s %s: %s\n", r.Table, r.ID, orDash(r.Name), r.Reason)
	}
	for _, r := range rep.Warnings {
		fmt.Fprintf(w, "warning %s %s %s: %s\n", r.Table, r.ID, orDash(r.Name), r.Reason)
	}
	if !rep.Changed() {
		fmt.Fprintln(w, "nothing changed: Sesame is up to date with this database")
	}
	return nil
}

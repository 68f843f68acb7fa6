package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sesameauth/sesame/internal/app"
)

func newResourcesCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "resources", Short: "Manage registered APIs (RFC 8707 resource indicators)"}
	cmd.AddCommand(newResourcesCreateCmd(e), newResourcesListCmd(e), newResourcesGetCmd(e),
		newResourcesUpdateCmd(e), newResourcesDeleteCmd(e))
	return cmd
}

// resourceFlags are the flags of create and update.
type resourceFlags struct {
	uri, name, scopes string
	descriptions      []string
	asJSON            bool
}

func (f *resourceFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.uri, "uri", "", "the API's URI: the `resource` clients send and the aud of its tokens (https://api.example.com)")
	fs.StringVar(&f.name, "name", "", "the API's name, shown on the consent page")
	fs.StringVar(&f.scopes, "scopes", "", `the API's scopes, space-separated ("read write")`)
	fs.StringArrayVar(&f.descriptions, "scope-description", nil,
		`SCOPE=TEXT: what a scope lets a client do, in plain words for the consent page (repeat per scope)`)
	fs.BoolVar(&f.asJSON, "json", false, "print JSON")
}

// input turns the flags that were set into an app.ResourceInput.
func (f *resourceFlags) input(fs *pflag.FlagSet) (app.ResourceInput, error) {
	var in app.ResourceInput
	if fs.Changed("uri") {
		in.URI = &f.uri
	}
	if fs.Changed("name") {
		in.Name = &f.name
	}
	if fs.Changed("scopes") {
		in.Scopes = app.SplitScope(f.scopes)
		if in.Scopes == nil {
			in.Scopes = []string{}
		}
	}
	in.Descriptions = map[string]string{}
	for _, d := range f.descriptions {
		scope, text, ok := strings.Cut(d, "=")
		if !ok || strings.TrimSpace(scope) == "" {
			return in, usagef("--scope-description %q: want SCOPE=TEXT", d)
		}
		in.Descriptions[strings.TrimSpace(scope)] = text
	}
	return in, nil
}

func newResourcesCreateCmd(e *env) *cobra.Command {
	var f resourceFlags
	c := &cobra.Command{
		Use:   "create --uri URI --name NAME [--scopes \"read write\" --scope-description read=TEXT …]",
		Short: "Register an API",
		Args:  cobra.NoArgs,
		RunE: e.runE(func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("uri") || !cmd.Flags().Changed("name") {
				return usagef("--uri and --name are required")
			}
			in, err := f.input(cmd.Flags())
			if err != nil {
				return err
			}
			svc, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			r, err := svc.CreateResource(cmd.Context(), actor, in)
			if err != nil {
				return err
			}
			return printResource(e, app.NewResourceView(r), f.asJSON)
		}),
	}
	f.add(c.Flags())
	return c
}

func newResourcesUpdateCmd(e *env) *cobra.Command {
	var f resourceFlags
	c := &cobra.Command{
		Use:   "update RESOURCE [--uri URI] [--name NAME] [--scopes …] [--scope-description SCOPE=TEXT …]",
		Short: "Change a registered API (by id or URI); flags not given stay as they are",
		Args:  cobra.ExactArgs(1),
		RunE: e.runE(func(cmd *cobra.Command, args []string) error {
			in, err := f.input(cmd.Flags())
			if err != nil {
				return err
			}
			svc, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			r, err := svc.UpdateResource(cmd.Context(), actor, args[0], in)
			if err != nil {
				return err
			}
			return printResource(e, app.NewResourceView(r), f.asJSON)
		}),
	}
	f.add(c.Flags())
	return c
}

func newResourcesGetCmd(e *env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "get RESOURCE",
		Short: "Show a registered API (by id or URI)",
		Args:  cobra.ExactArgs(1),
		RunE: e.runE(func(cmd *cobra.Command, args []string) error {
			svc, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			r, err := svc.GetResource(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printResource(e, app.NewResourceView(r), asJSON)
		}),
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func printResource(e *env, v app.ResourceView, asJSON bool) error {
	if asJSON {
		return writeJSON(e.stdout, v)
	}
	pairs := []string{"id", v.ID, "uri", v.URI, "name", v.Name}
	if len(v.Scopes) == 0 {
		pairs = append(pairs, "scopes", "-")
	}
	for _, s := range v.Scopes {
		pairs = append(pairs, "scope "+s.Name, s.Description)
	}
	return kv(e.stdout, pairs...)
}

func newResourcesListCmd(e *env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "list",
		Short: "List registered APIs",
		Args:  cobra.NoArgs,
		RunE: e.runE(func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			svc, err := e.open(ctx)
			if err != nil {
				return err
			}
			rs, err := svc.ListResources(ctx)
			if err != nil {
				return err
			}
			views := make([]app.ResourceView, 0, len(rs))
			for _, r := range rs {
				views = append(views, app.NewResourceView(r))
			}
			if asJSON {
				return writeJSON(e.stdout, listJSON[app.ResourceView]{Items: views})
			}
			t := newTable(e.stdout, "ID", "URI", "NAME", "SCOPES")
			for _, v := range views {
				names := make([]string, 0, len(v.Scopes))
				for _, s := range v.Scopes {
					names = append(names, s.Name)
				}
				t.row(v.ID, v.URI, v.Name, orDash(strings.Join(names, " ")))
			}
			return t.flush()
		}),
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func newResourcesDeleteCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "delete RESOURCE",
		Short: "Delete a registered API (by id or URI); its tokens stay valid until they expire",
		Args:  cobra.ExactArgs(1),
		RunE: e.runE(func(cmd *cobra.Command, args []string) error {
			svc, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			if err := svc.DeleteResource(cmd.Context(), actor, args[0]); err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "deleted resource %s\n", args[0])
			return err
		}),
	}
}

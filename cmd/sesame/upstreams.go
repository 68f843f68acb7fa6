package main

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/server"
)

// upstreamsCheckTimeout bounds `sesame upstreams list`: every upstream is
// probed at once.
const upstreamsCheckTimeout = 15 * time.Second

func newUpstreamsCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "upstreams", Short: "The sign-in providers configured under upstreams: in the config file"}
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List upstream providers and whether their discovery and JWKS (or directory) answer",
		Long: "Upstreams are configured in the YAML file (--config) only. Each is probed now:\n" +
			"an oidc upstream's discovery document and JWKS, an oauth2 upstream's authorize URL,\n" +
			"an ldap upstream's directory (connect, StartTLS, service bind). The exit status is 0\n" +
			"whatever they answer: STATE says it.",
		Args: cobra.NoArgs,
		RunE: e.runE(func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), upstreamsCheckTimeout)
			defer cancel()
			sts, err := server.UpstreamStatuses(ctx, e.cfg, e.logger)
			if err != nil {
				return usageError{err}
			}
			if asJSON {
				return writeJSON(e.stdout, listJSON[app.UpstreamStatus]{Items: sts})
			}
			t := newTable(e.stdout, "ID", "TYPE", "NAME", "STATE", "CHECKS")
			for _, s := range sts {
				state := "reachable"
				if !s.OK {
					state = "unreachable"
				}
				checks := make([]string, 0, len(s.Probes))
				for _, p := range s.Probes {
					if p.OK {
						checks = append(checks, p.What+" ok")
					} else {
						checks = append(checks, p.What+": "+p.Error)
					}
				}
				t.row(s.ID, s.Type, s.Name, state, strings.Join(checks, "; "))
			}
			return t.flush()
		}),
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(list)
	return cmd
}

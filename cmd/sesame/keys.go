package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sesameauth/sesame/internal/keys"
	"github.com/sesameauth/sesame/storage"
)

func newKeysCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "List and rotate the signing keys"}
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List signing keys (public data and state only)",
		Args:  cobra.NoArgs,
		RunE: e.runE(func(cmd *cobra.Command, _ []string) error {
			c, err := e.core(cmd.Context())
			if err != nil {
				return err
			}
			infos, err := c.Keys.List(cmd.Context())
			if err != nil {
				return infraError{err}
			}
			return printKeys(e, infos, asJSON)
		}),
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	var alg string
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Rotate the signing key of one algorithm (--alg) or of all",
		Long: "Creates a new key and makes it the active one. The old key stops signing\n" +
			"but stays in the JWKS until every token it signed has expired.",
		Args: cobra.NoArgs,
		RunE: e.runE(func(cmd *cobra.Command, _ []string) error {
			if alg != "" && !keys.IsSupported(alg) {
				return usagef("--alg %q: want one of %v", alg, keys.Supported())
			}
			ctx := cmd.Context()
			c, err := e.core(ctx)
			if err != nil {
				return err
			}
			var infos []keys.Info
			if alg == "" {
				infos, err = c.Keys.RotateAll(ctx)
			} else {
				var info keys.Info
				info, err = c.Keys.Rotate(ctx, alg)
				infos = []keys.Info{info}
			}
			if err != nil {
				return infraError{err}
			}
			for _, in := range infos {
				if err := e.store.AppendAudit(ctx, storage.AuditEvent{
					At: time.Now().UTC(), Type: "key.rotated", Actor: actor, Outcome: "success",
					Details: map[string]string{"kid": in.KID, "alg": in.Alg},
				}); err != nil {
					return infraError{fmt.Errorf("audit: %w", err)}
				}
			}
			return printKeys(e, infos, asJSON)
		}),
	}
	rotate.Flags().StringVar(&alg, "alg", "", "algorithm to rotate (RS256, PS256, ES256, EdDSA); default all")
	rotate.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(list, rotate)
	return cmd
}

func printKeys(e *env, infos []keys.Info, asJSON bool) error {
	if asJSON {
		return writeJSON(e.stdout, listJSON[keys.Info]{Items: infos})
	}
	t := newTable(e.stdout, "KID", "ALG", "STATE", "CREATED", "ACTIVATED", "RETIRED", "UNPUBLISHED AFTER")
	for _, in := range infos {
		t.row(in.KID, in.Alg, in.State, ts(in.CreatedAt), tsPtr(in.ActivatedAt), tsPtr(in.RetiredAt), tsPtr(in.RetireAfter))
	}
	return t.flush()
}

func tsPtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return ts(*t)
}

package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
)

func newTokensCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "tokens", Short: "Issue and revoke tokens"}
	cmd.AddCommand(newTokensIssueCmd(e), newTokensListCmd(e), newTokensRevokeCmd(e))
	return cmd
}

// tokenJSON is the --json output of `tokens issue`.
type tokenJSON struct {
	AccessToken string    `json:"access_token"`
	TokenType   string    `json:"token_type"`
	ExpiresAt   time.Time `json:"expires_at"`
	UserID      string    `json:"user_id"`
	ClientID    string    `json:"client_id"`
	Scope       string    `json:"scope"`
}

func newTokensIssueCmd(e *env) *cobra.Command {
	var (
		user, client, scopes string
		ttl                  time.Duration
		asJSON               bool
	)
	issue := &cobra.Command{
		Use: "issue --user NAME --client ID",
		Example: `  sesame tokens issue --user alice --client "$CLIENT_ID" --scopes api:read
  sesame tokens issue --user alice --client "$CLIENT_ID" --scopes "api:read api:write" --ttl 24h --json`,
		Short: "Issue an opaque access token for a user (a personal/API token)",
		Long: "Issues an opaque access token for a user through the same code path as the\n" +
			"token endpoint, like DRF's drf_create_token. The token is printed once and\n" +
			"stored only as a hash; it introspects and revokes like any other.",
		Args: cobra.NoArgs,
		RunE: e.runE(func(cmd *cobra.Command, _ []string) error {
			if user == "" || client == "" {
				return usagef("--user and --client are required")
			}
			if ttl <= 0 {
				return usagef("--ttl %s: must be positive", ttl)
			}
			ctx := cmd.Context()
			c, err := e.core(ctx)
			if err != nil {
				return err
			}
			u, err := e.svc.GetUser(ctx, user)
			if err != nil {
				return err
			}
			scopeList := strings.Fields(scopes)
			tok, exp, err := c.OAuth.IssuePersonalToken(ctx, u.ID, client, scopeList, ttl)
			if err != nil {
				return err
			}
			out := tokenJSON{AccessToken: tok, TokenType: "Bearer", ExpiresAt: exp.UTC(), UserID: u.ID, ClientID: client, Scope: strings.Join(scopeList, " ")}
			if asJSON {
				return writeJSON(e.stdout, out)
			}
			return kv(e.stdout, "access_token", tok, "token_type", "Bearer", "expires_at", ts(exp),
				"user", u.Username+" ("+u.ID+")", "client_id", client, "scope", orDash(out.Scope))
		}),
	}
	f := issue.Flags()
	f.StringVar(&user, "user", "", "username or user id")
	f.StringVar(&client, "client", "", "client id the token is issued to")
	f.StringVar(&scopes, "scopes", "", `space-separated scopes, each allowed for the client (e.g. "api:read api:write")`)
	f.DurationVar(&ttl, "ttl", 720*time.Hour, "lifetime of the token")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return issue
}

func newTokensListCmd(e *env) *cobra.Command {
	var (
		user   string
		asJSON bool
	)
	c := &cobra.Command{
		Use:   "list --user NAME",
		Short: "List a user's live tokens: personal, imported DRF and sign-in grants (never the token values)",
		Args:  cobra.NoArgs,
		RunE: e.runE(func(cmd *cobra.Command, _ []string) error {
			if user == "" {
				return usagef("--user is required")
			}
			ctx := cmd.Context()
			svc, err := e.open(ctx)
			if err != nil {
				return err
			}
			views, err := svc.ListUserTokens(ctx, user)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(e.stdout, listJSON[app.TokenView]{Items: views})
			}
			t := newTable(e.stdout, "CLIENT", "KIND", "SCOPE", "CREATED", "LAST USED", "EXPIRES")
			for _, v := range views {
				t.row(v.ClientID, v.Kind, orDash(v.Scope), ts(v.CreatedAt), ts(v.LastUsedAt), ts(v.ExpiresAt))
			}
			return t.flush()
		}),
	}
	c.Flags().StringVar(&user, "user", "", "username or user id")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func newTokensRevokeCmd(e *env) *cobra.Command {
	var user, client string
	revoke := &cobra.Command{
		Use:   "revoke [TOKEN] | --user NAME | --client ID",
		Short: "Revoke a token (its whole grant), or every token of a user or client",
		Args:  cobra.MaximumNArgs(1),
		RunE: e.runE(func(cmd *cobra.Command, args []string) error {
			n := 0
			if len(args) == 1 {
				n++
			}
			if user != "" {
				n++
			}
			if client != "" {
				n++
			}
			if n != 1 {
				return usagef("give exactly one of TOKEN, --user or --client")
			}
			ctx := cmd.Context()
			switch {
			case len(args) == 1:
				c, err := e.core(ctx)
				if err != nil {
					return err
				}
				if err := c.OAuth.RevokeToken(ctx, args[0]); err != nil {
					if errors.Is(err, storage.ErrNotFound) { // oauth.ErrUnknownToken wraps it
						return usagef("not a token of this server (or already expired)")
					}
					return err
				}
				_, err = fmt.Fprintln(e.stdout, "revoked")
				return err
			case user != "":
				svc, err := e.open(ctx)
				if err != nil {
					return err
				}
				count, err := svc.RevokeForUser(ctx, actor, user)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(e.stdout, "revoked %d grant(s) of user %s\n", count, user)
				return err
			default:
				svc, err := e.open(ctx)
				if err != nil {
					return err
				}
				count, err := svc.RevokeForClient(ctx, actor, client)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(e.stdout, "revoked %d grant(s) of client %s and every client_credentials token issued to it until now\n", count, client)
				return err
			}
		}),
	}
	revoke.Flags().StringVar(&user, "user", "", "revoke every token of this user (username or id)")
	revoke.Flags().StringVar(&client, "client", "", "revoke every token issued to this client")
	return revoke
}

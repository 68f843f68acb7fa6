package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
)

func newClientsCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "clients", Short: "Manage OAuth clients"}
	cmd.AddCommand(
		newClientsCreateCmd(e), newClientsListCmd(e), newClientsGetCmd(e), newClientsUpdateCmd(e),
		newClientsDeleteCmd(e), newClientsRotateSecretCmd(e),
		newClientsUnlockCmd(e),            // unlock.go
		newClientsRegistrationTokenCmd(e), // registration.go
	)
	return cmd
}

// clientFlags are the client metadata flags shared by create and update.
type clientFlags struct {
	id, name, description, authMethod, tokenFormat, scopes, jwksFile string
	exchangeAudiences                                                string
	grantTypes, redirectURIs, postLogoutURIs, audience, corsOrigins  []string
	public, skipConsent, requireMFA, requirePAR                      bool
}

func (c *clientFlags) register(fs *pflag.FlagSet, create bool) {
	if create {
		fs.StringVar(&c.id, "id", "", "client id (default: 22 random characters)")
	}
	fs.StringVar(&c.name, "name", "", "client name shown on the consent page")
	fs.StringVar(&c.description, "description", "", "free-text description")
	fs.StringSliceVar(&c.grantTypes, "grant-types", nil, "grant types, comma-separated: authorization_code, refresh_token, client_credentials, password, urn:ietf:params:oauth:grant-type:device_code, urn:ietf:params:oauth:grant-type:token-exchange (default authorization_code)")
	fs.StringSliceVar(&c.redirectURIs, "redirect-uris", nil, "redirect URIs, comma-separated (exact match)")
	fs.StringVar(&c.scopes, "scopes", "", `allowed scopes, space-separated ("openid profile email")`)
	fs.BoolVar(&c.public, "public", false, "public client (SPA, native app): no secret, PKCE required")
	fs.StringVar(&c.tokenFormat, "token-format", "", "access token format: jwt or opaque (default: server setting)")
	fs.BoolVar(&c.skipConsent, "skip-consent", false, "first-party client: skip the consent page")
	fs.BoolVar(&c.requireMFA, "require-mfa", false, "every sign-in for this client needs two factors (users without one enrol at sign-in)")
	fs.BoolVar(&c.requirePAR, "require-pushed-authorization-requests", false, "authorization requests must be pushed to /oauth2/par first (RFC 9126)")
	fs.StringSliceVar(&c.audience, "audience", nil, "allowed audiences, comma-separated")
	fs.StringVar(&c.exchangeAudiences, "token-exchange-audiences", "", `audiences or registered resource URIs the client may get by token exchange (RFC 8693), space-separated ("https://api.example.com urn:backend"); needs the grant `+app.TokenExchangeGrantType)
	fs.StringSliceVar(&c.postLogoutURIs, "post-logout-redirect-uris", nil, "post-logout redirect URIs, comma-separated")
	fs.StringSliceVar(&c.corsOrigins, "cors-origins", nil, "allowed CORS origins (scheme://host[:port]), comma-separated")
	fs.StringVar(&c.authMethod, "auth-method", "", "token endpoint auth method: client_secret_basic (default), client_secret_post, private_key_jwt, none")
	fs.StringVar(&c.jwksFile, "jwks-file", "", "file with the client's public JWK Set (for private_key_jwt)")
}

func (c *clientFlags) readJWKS() (string, error) {
	if c.jwksFile == "" {
		return "", nil
	}
	b, err := os.ReadFile(c.jwksFile)
	if err != nil {
		return "", usagef("--jwks-file: %v", err)
	}
	return string(b), nil
}

func (c *clientFlags) spec() (app.ClientSpec, error) {
	jwks, err := c.readJWKS()
	if err != nil {
		return app.ClientSpec{}, err
	}
	return app.ClientSpec{
		ID: c.id, Name: c.name, Description: c.description,
		GrantTypes: c.grantTypes, RedirectURIs: c.redirectURIs, Scopes: app.SplitScope(c.scopes),
		Public: c.public, AccessTokenFormat: c.tokenFormat, SkipConsent: c.skipConsent, RequireMFA: c.requireMFA,
		Audience: c.audience, PostLogoutRedirectURIs: c.postLogoutURIs, AllowedCORSOrigins: c.corsOrigins,
		TokenEndpointAuthMethod: c.authMethod, JWKS: jwks,
		RequirePushedAuthorizationRequests: c.requirePAR,
		TokenExchangeAudiences:             app.SplitScope(c.exchangeAudiences),
	}, nil
}

// patch holds only the flags given on the command line.
func (c *clientFlags) patch(fs *pflag.FlagSet) (app.ClientPatch, bool, error) {
	var p app.ClientPatch
	n := 0
	changed := func(name string) bool {
		if fs.Changed(name) {
			n++
			return true
		}
		return false
	}
	if changed("name") {
		p.Name = &c.name
	}
	if changed("description") {
		p.Description = &c.description
	}
	if changed("grant-types") {
		p.GrantTypes = &c.grantTypes
	}
	if changed("redirect-uris") {
		p.RedirectURIs = &c.redirectURIs
	}
	if changed("scopes") {
		s := app.SplitScope(c.scopes)
		p.Scopes = &s
	}
	if changed("public") {
		p.Public = &c.public
	}
	if changed("token-format") {
		p.AccessTokenFormat = &c.tokenFormat
	}
	if changed("skip-consent") {
		p.SkipConsent = &c.skipConsent
	}
	if changed("require-mfa") {
		p.RequireMFA = &c.requireMFA
	}
	if changed("require-pushed-authorization-requests") {
		p.RequirePushedAuthorizationRequests = &c.requirePAR
	}
	if changed("audience") {
		p.Audience = &c.audience
	}
	if changed("token-exchange-audiences") {
		a := app.SplitScope(c.exchangeAudiences)
		p.TokenExchangeAudiences = &a
	}
	if changed("post-logout-redirect-uris") {
		p.PostLogoutRedirectURIs = &c.postLogoutURIs
	}
	if changed("cors-origins") {
		p.AllowedCORSOrigins = &c.corsOrigins
	}
	if changed("auth-method") {
		p.TokenEndpointAuthMethod = &c.authMethod
	}
	if changed("jwks-file") {
		jwks, err := c.readJWKS()
		if err != nil {
			return p, false, err
		}
		p.JWKS = &jwks
	}
	return p, n > 0, nil
}

func printClient(e *env, v app.ClientView) error {
	kind := "confidential"
	if v.Public {
		kind = "public"
	}
	pairs := []string{"client_id", v.ClientID}
	if v.ClientSecret != "" {
		pairs = append(pairs, "client_secret", v.ClientSecret)
	}
	pairs = append(pairs,
		"name", orDash(v.ClientName),
		"type", kind,
		"auth_method", v.TokenEndpointAuthMethod,
		"grant_types", orDash(strings.Join(v.GrantTypes, ", ")),
		"redirect_uris", orDash(strings.Join(v.RedirectURIs, ", ")),
		"scope", orDash(v.Scope),
		"audience", orDash(strings.Join(v.Audience, ", ")),
		"token_format", orDash(v.AccessTokenFormat),
		"skip_consent", yesNo(v.SkipConsent),
		"require_mfa", yesNo(v.RequireMFA),
		"require_par", yesNo(v.RequirePAR),
		"token_exchange_audiences", orDash(strings.Join(v.TokenExchangeAudiences, " ")),
		"post_logout_uris", orDash(strings.Join(v.PostLogoutRedirectURIs, ", ")),
		"cors_origins", orDash(strings.Join(v.AllowedCORSOrigins, ", ")),
		"created", ts(v.CreatedAt),
		"updated", ts(v.UpdatedAt),
	)
	if err := kv(e.stdout, pairs...); err != nil {
		return err
	}
	if v.ClientSecret != "" {
		fmt.Fprintln(e.stdout, "(the client secret is shown only now: it is stored hashed)")
	}
	return nil
}

func showClient(e *env, c storage.Client, clientSecret string, asJSON bool) error {
	v := app.NewClientView(c, clientSecret)
	if asJSON {
		return writeJSON(e.stdout, v)
	}
	return printClient(e, v)
}

func newClientsCreateCmd(e *env) *cobra.Command {
	var (
		cf     clientFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Register a client; prints its id and (confidential clients) its secret once",
		Example: `  sesame clients create --name "My app" --grant-types authorization_code,refresh_token \
      --redirect-uris https://app.example.com/callback --scopes "openid profile offline_access"
  sesame clients create --name SPA --public --redirect-uris http://localhost:5173/cb --scopes openid --json
  sesame clients create --name admin-bot --grant-types client_credentials --scopes sesame:admin`,
		Args: cobra.NoArgs,
		RunE: e.runE(func(cmd *cobra.Command, _ []string) error {
			spec, err := cf.spec()
			if err != nil {
				return err
			}
			svc, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			c, clientSecret, err := svc.CreateClient(cmd.Context(), actor, spec)
			if err != nil {
				return err
			}
			return showClient(e, c, clientSecret, asJSON)
		}),
	}
	cf.register(cmd.Flags(), true)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newClientsListCmd(e *env) *cobra.Command {
	var (
		o      storage.ListOptions
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List clients",
		Args:  cobra.NoArgs,
		RunE: e.runE(func(cmd *cobra.Command, _ []string) error {
			svc, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			cs, next, err := svc.ListClients(cmd.Context(), o)
			if err != nil {
				return err
			}
			views := make([]app.ClientView, 0, len(cs))
			for _, c := range cs {
				views = append(views, app.NewClientView(c, ""))
			}
			if asJSON {
				return writeJSON(e.stdout, listJSON[app.ClientView]{Items: views, NextCursor: next})
			}
			t := newTable(e.stdout, "CLIENT_ID", "NAME", "TYPE", "GRANT_TYPES", "REDIRECT_URIS", "SCOPE")
			for _, v := range views {
				kind := "confidential"
				if v.Public {
					kind = "public"
				}
				t.row(v.ClientID, orDash(v.ClientName), kind, strings.Join(v.GrantTypes, ","), orDash(strings.Join(v.RedirectURIs, ",")), orDash(v.Scope))
			}
			return flushPage(e.stdout, t, next)
		}),
	}
	f := cmd.Flags()
	addPageFlags(f, &o.Limit, &o.Cursor)
	f.StringVar(&o.Query, "query", "", "filter by name (substring)")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newClientsGetCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "get CLIENT_ID",
		Short: "Show a client (never its secret)",
		Args:  cobra.ExactArgs(1),
		RunE: e.runE(func(cmd *cobra.Command, args []string) error {
			svc, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			c, err := svc.GetClient(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return showClient(e, c, "", asJSON)
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newClientsUpdateCmd(e *env) *cobra.Command {
	var (
		cf     clientFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "update CLIENT_ID",
		Short: "Change some fields of a client (only the flags given)",
		Example: `  sesame clients update abc123 --scopes "openid profile email"
  sesame clients update abc123 --redirect-uris https://a.example.com/cb,https://b.example.com/cb`,
		Args: cobra.ExactArgs(1),
		RunE: e.runE(func(cmd *cobra.Command, args []string) error {
			p, any, err := cf.patch(cmd.Flags())
			if err != nil {
				return err
			}
			if !any {
				return usagef("nothing to update: give at least one field flag (see --help)")
			}
			svc, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			c, clientSecret, err := svc.UpdateClient(cmd.Context(), actor, args[0], p)
			if err != nil {
				return err
			}
			return showClient(e, c, clientSecret, asJSON)
		}),
	}
	cf.register(cmd.Flags(), false)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newClientsDeleteCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "delete CLIENT_ID",
		Short: "Delete a client and revoke its tokens",
		Args:  cobra.ExactArgs(1),
		RunE: e.runE(func(cmd *cobra.Command, args []string) error {
			svc, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			if err := svc.DeleteClient(cmd.Context(), actor, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "client %s deleted\n", args[0])
			return nil
		}),
	}
}

func newClientsRotateSecretCmd(e *env) *cobra.Command {
	var keepOld, asJSON bool
	cmd := &cobra.Command{
		Use:   "rotate-secret CLIENT_ID",
		Short: "Give a confidential client a new secret (printed once)",
		Long: `Give a confidential client a new secret, printed once.

With --keep-old the previous secret keeps working too, so the new one can be
deployed without downtime; rotate again without --keep-old to retire it.`,
		Args: cobra.ExactArgs(1),
		RunE: e.runE(func(cmd *cobra.Command, args []string) error {
			svc, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			c, clientSecret, err := svc.RotateClientSecret(cmd.Context(), actor, args[0], keepOld)
			if err != nil {
				return err
			}
			return showClient(e, c, clientSecret, asJSON)
		}),
	}
	cmd.Flags().BoolVar(&keepOld, "keep-old", false, "keep accepting the previous secret")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

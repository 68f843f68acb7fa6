package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

func newUsersCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "Manage users (resource owners)"}
	cmd.AddCommand(
		newUsersCreateCmd(e), newUsersListCmd(e), newUsersGetCmd(e), newUsersSetPasswordCmd(e),
		newUsersDisableCmd(e), newUsersEnableCmd(e), newUsersDeleteCmd(e),
		newUsersUnlockCmd(e), // unlock.go
		newUsersMFACmd(e),    // mfa.go
		newUsersInviteCmd(e), // invite.go
	)
	return cmd
}

// passwordFlags are the two ways a password reaches the CLI without
// appearing in argv (where ps and shell history would see it).
type passwordFlags struct {
	stdin    bool
	generate bool
}

func (p *passwordFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&p.stdin, "password-stdin", false, "read the password from standard input (one line; the trailing newline is dropped)")
	cmd.Flags().BoolVar(&p.generate, "generate-password", false, "generate a random password and print it once")
}

// read returns the password and whether it was generated (and so must be shown).
func (p *passwordFlags) read(stdin io.Reader) (string, bool, error) {
	switch {
	case p.stdin && p.generate:
		return "", false, usagef("use either --password-stdin or --generate-password")
	case p.generate:
		pw, err := secret.RandomToken(15)
		return pw, true, err
	case p.stdin:
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", false, infraError{fmt.Errorf("read password from stdin: %w", err)}
		}
		return strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"), false, nil
	}
	return "", false, usagef("a password is required: pass --password-stdin (and pipe it in) or --generate-password")
}

// userCreated is the --json answer of users create and set-password; the
// password appears only when it was generated.
type userCreated struct {
	app.UserView
	Password string `json:"password,omitempty"`
}

func newUsersCreateCmd(e *env) *cobra.Command {
	var (
		in     app.NewUser
		pwf    passwordFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "create USERNAME",
		Short: "Create a user",
		Example: `  printf '%s\n' "$PASSWORD" | sesame users create alice --password-stdin --email alice@example.com
  sesame users create bob --generate-password --json`,
		Args: cobra.ExactArgs(1),
		RunE: e.runE(func(cmd *cobra.Command, args []string) error {
			pw, generated, err := pwf.read(e.stdin)
			if err != nil {
				return err
			}
			svc, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			in.Username, in.Password = args[0], pw
			u, err := svc.CreateUser(cmd.Context(), actor, in)
			if err != nil {
				return err
			}
			out := userCreated{UserView: app.NewUserView(u)}
			if generated {
				out.Password = pw
			}
			if asJSON {
				return writeJSON(e.stdout, out)
			}
			if err := printUser(e, out.UserView); err != nil {
				return err
			}
			if generated {
				fmt.Fprintf(e.stdout, "password    %s\n(shown only now: it is stored hashed)\n", pw)
			}
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&in.Email, "email", "", "email address")
	f.BoolVar(&in.EmailVerified, "email-verified", false, "mark the email address as verified")
	f.StringVar(&in.Name, "name", "", "full name")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	pwf.register(cmd)
	return cmd
}

func printUser(e *env, u app.UserView) error {
	pairs := []string{
		"id", u.ID, "username", u.Username, "email", orDash(u.Email), "verified", yesNo(u.EmailVerified),
		"name", orDash(u.Name), "disabled", yesNo(u.Disabled), "created", ts(u.CreatedAt), "updated", ts(u.UpdatedAt),
		"last login", lastLogin(u.LastLoginAt),
	}
	if u.Factors != nil { // `users get` (UserDetail)
		pairs = append(pairs, "second factors", factorSummary(u.Factors))
	}
	return kv(e.stdout, pairs...)
}

func lastLogin(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return ts(*t)
}

func newUsersListCmd(e *env) *cobra.Command {
	var (
		o      storage.ListOptions
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: e.runE(func(cmd *cobra.Command, _ []string) error {
			svc, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			users, next, err := svc.ListUsers(cmd.Context(), o)
			if err != nil {
				return err
			}
			views := make([]app.UserView, 0, len(users))
			for _, u := range users {
				views = append(views, app.NewUserView(u))
			}
			if asJSON {
				return writeJSON(e.stdout, listJSON[app.UserView]{Items: views, NextCursor: next})
			}
			t := newTable(e.stdout, "ID", "USERNAME", "EMAIL", "NAME", "DISABLED", "CREATED")
			for _, u := range views {
				t.row(u.ID, u.Username, orDash(u.Email), orDash(u.Name), yesNo(u.Disabled), ts(u.CreatedAt))
			}
			return flushPage(e.stdout, t, next)
		}),
	}
	f := cmd.Flags()
	addPageFlags(f, &o.Limit, &o.Cursor)
	f.StringVar(&o.Query, "query", "", "filter by username, email or name (substring)")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newUsersGetCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "get USERNAME|ID",
		Short: "Show a user",
		Args:  cobra.ExactArgs(1),
		RunE: e.runE(func(cmd *cobra.Command, args []string) error {
			svc, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			u, err := svc.GetUser(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			v, err := svc.UserDetail(cmd.Context(), u)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(e.stdout, v)
			}
			return printUser(e, v)
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newUsersSetPasswordCmd(e *env) *cobra.Command {
	var pwf passwordFlags
	cmd := &cobra.Command{
		Use:   "set-password USERNAME|ID",
		Short: "Replace a user's password",
		Args:  cobra.ExactArgs(1),
		RunE: e.runE(func(cmd *cobra.Command, args []string) error {
			pw, generated, err := pwf.read(e.stdin)
			if err != nil {
				return err
			}
			svc, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			if err := svc.SetPassword(cmd.Context(), actor, args[0], pw); err != nil {
				return err
			}
			if generated {
				fmt.Fprintf(e.stdout, "password    %s\n(shown only now: it is stored hashed)\n", pw)
				return nil
			}
			fmt.Fprintln(e.stdout, "password updated")
			return nil
		}),
	}
	pwf.register(cmd)
	return cmd
}

func newUsersDisableCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "disable USERNAME|ID",
		Short: "Disable a user and revoke their sessions and tokens",
		Args:  cobra.ExactArgs(1),
		RunE: e.runE(func(cmd *cobra.Command, args []string) error {
			svc, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			u, err := svc.DisableUser(cmd.Context(), actor, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "user %s disabled; sessions and tokens revoked\n", u.Username)
			return nil
		}),
	}
}

func newUsersEnableCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "enable USERNAME|ID",
		Short: "Let a disabled user log in again",
		Args:  cobra.ExactArgs(1),
		RunE: e.runE(func(cmd *cobra.Command, args []string) error {
			svc, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			u, err := svc.EnableUser(cmd.Context(), actor, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "user %s enabled\n", u.Username)
			return nil
		}),
	}
}

func newUsersDeleteCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "delete USERNAME|ID",
		Short: "Delete a user, revoking everything issued to them",
		Args:  cobra.ExactArgs(1),
		RunE: e.runE(func(cmd *cobra.Command, args []string) error {
			svc, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			if err := svc.DeleteUser(cmd.Context(), actor, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "user %s deleted\n", args[0])
			return nil
		}),
	}
}

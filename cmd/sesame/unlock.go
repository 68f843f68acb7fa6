package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
)

// newUsersUnlockCmd is `sesame users unlock NAME`: it clears the
// brute-force counter and lock of a login name (web /login and the password
// grant). A name without an account can be locked too (failures are counted
// under whatever was typed), so an unknown name is unlocked as typed.
func newUsersUnlockCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "unlock USERNAME|ID",
		Short: "Lift a brute-force lock on a username (failed sign-ins are forgotten)",
		Args:  cobra.ExactArgs(1),
		RunE: e.runE(func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, err := e.open(ctx)
			if err != nil {
				return err
			}
			name := strings.TrimSpace(args[0])
			if name == "" {
				return usagef("USERNAME must not be empty")
			}
			userID := ""
			if u, err := svc.GetUser(ctx, name); err == nil {
				name, userID = u.Username, u.ID
			} else if !errors.Is(err, storage.ErrNotFound) {
				return err
			}
			if err := svc.UnlockKey(ctx, actor, throttle.UserKey(name), "", userID); err != nil {
				return infraError{fmt.Errorf("unlock: %w", err)}
			}
			fmt.Fprintf(e.stdout, "user %s unlocked\n", name)
			return nil
		}),
	}
}

// newClientsUnlockCmd is `sesame clients unlock ID`: it clears the
// brute-force counter and lock of a client id (client authentication at
// the token, introspection and revocation endpoints).
func newClientsUnlockCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "unlock ID",
		Short: "Lift a brute-force lock on a client id (failed client authentications are forgotten)",
		Args:  cobra.ExactArgs(1),
		RunE: e.runE(func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, err := e.open(ctx)
			if err != nil {
				return err
			}
			id := args[0]
			if id == "" {
				return usagef("ID must not be empty")
			}
			if err := svc.UnlockKey(ctx, actor, throttle.ClientKey(id), id, ""); err != nil {
				return infraError{fmt.Errorf("unlock: %w", err)}
			}
			fmt.Fprintf(e.stdout, "client %s unlocked\n", id)
			return nil
		}),
	}
}

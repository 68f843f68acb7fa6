package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
)

// auditUnlocked is the audit event of an administrative unlock (the lock
// itself is throttle.AuditLocked).
const auditUnlocked = "auth.unlocked"

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
			if err := e.unlock(ctx, throttle.UserKey(name), userID, ""); err != nil {
				return err
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
			if _, err := e.open(ctx); err != nil {
				return err
			}
			id := args[0]
			if id == "" {
				return usagef("ID must not be empty")
			}
			if err := e.unlock(ctx, throttle.ClientKey(id), "", id); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "client %s unlocked\n", id)
			return nil
		}),
	}
}

// unlock clears key and writes the auth.unlocked audit event, in one
// transaction so the event exists exactly when the unlock happened.
func (e *env) unlock(ctx context.Context, key, userID, clientID string) error {
	// The guard's settings do not matter to Unlock, which works even when
	// brute-force protection is switched off.
	g := throttle.New(e.store, e.store, throttle.DefaultConfig(), nil)
	err := storage.InTx(ctx, e.store, func(ctx context.Context) error {
		if err := g.Unlock(ctx, key); err != nil {
			return err
		}
		return e.store.AppendAudit(ctx, storage.AuditEvent{
			At: time.Now().UTC(), Type: auditUnlocked, Actor: actor, UserID: userID, ClientID: clientID,
			Outcome: "success", Details: map[string]string{"key": key},
		})
	})
	if err != nil {
		return infraError{fmt.Errorf("unlock: %w", err)}
	}
	return nil
}

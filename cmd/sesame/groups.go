package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sesameauth/sesame/internal/app"
)

func newGroupsCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "groups", Short: "Manage groups (the groups scope and claim)"}
	cmd.AddCommand(newGroupsCreateCmd(e), newGroupsListCmd(e), newGroupsDeleteCmd(e),
		newGroupsMemberCmd(e, true), newGroupsMemberCmd(e, false))
	return cmd
}

func newGroupsCreateCmd(e *env) *cobra.Command {
	var (
		description string
		asJSON      bool
	)
	c := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a group",
		Args:  cobra.ExactArgs(1),
		RunE: e.runE(func(cmd *cobra.Command, args []string) error {
			svc, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			g, err := svc.CreateGroup(cmd.Context(), actor, args[0], description)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(e.stdout, app.NewGroupView(g, nil))
			}
			return kv(e.stdout, "id", g.ID, "name", g.Name, "description", orDash(g.Description))
		}),
	}
	c.Flags().StringVar(&description, "description", "", "what the group is for")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func newGroupsListCmd(e *env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "list",
		Short: "List groups with their number of members",
		Args:  cobra.NoArgs,
		RunE: e.runE(func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			svc, err := e.open(ctx)
			if err != nil {
				return err
			}
			views, err := svc.ListGroupViews(ctx)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(e.stdout, listJSON[app.GroupView]{Items: views})
			}
			t := newTable(e.stdout, "ID", "NAME", "MEMBERS", "DESCRIPTION")
			for _, v := range views {
				t.row(v.ID, v.Name, fmt.Sprint(len(v.Members)), orDash(v.Description))
			}
			return t.flush()
		}),
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func newGroupsDeleteCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "delete GROUP",
		Short: "Delete a group (by id or name) and its memberships",
		Args:  cobra.ExactArgs(1),
		RunE: e.runE(func(cmd *cobra.Command, args []string) error {
			svc, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			if err := svc.DeleteGroup(cmd.Context(), actor, args[0]); err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "deleted group %s\n", args[0])
			return err
		}),
	}
}

// newGroupsMemberCmd is add-member (add) or remove-member.
func newGroupsMemberCmd(e *env, add bool) *cobra.Command {
	verb, short := "remove-member", "End a user's membership of a group"
	if add {
		verb, short = "add-member", "Make a user (id or username) a member of a group (id or name)"
	}
	return &cobra.Command{
		Use:   verb + " GROUP USER",
		Short: short,
		Args:  cobra.ExactArgs(2),
		RunE: e.runE(func(cmd *cobra.Command, args []string) error {
			svc, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			group, user := args[0], args[1]
			msg := fmt.Sprintf("removed %s from %s", user, group)
			if add {
				added, err := svc.AddGroupMember(cmd.Context(), actor, group, user)
				if err != nil {
					return err
				}
				msg = fmt.Sprintf("added %s to %s", user, group)
				if !added {
					msg = fmt.Sprintf("%s is already a member of %s", user, group)
				}
			} else if err := svc.RemoveGroupMember(cmd.Context(), actor, group, user); err != nil {
				return err
			}
			_, err = fmt.Fprintln(e.stdout, strings.TrimSpace(msg))
			return err
		}),
	}
}

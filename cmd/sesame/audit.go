package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
)

func newAuditCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Read the audit log"}
	var (
		f      storage.AuditFilter
		since  string
		asJSON bool
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "List audit events, newest first",
		Args:  cobra.NoArgs,
		RunE: e.runE(func(cmd *cobra.Command, _ []string) error {
			if since != "" {
				d, err := time.ParseDuration(since)
				if err != nil || d <= 0 {
					return usagef("--since %q: want a positive duration like 24h", since)
				}
				f.Since = time.Now().Add(-d)
			}
			svc, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			events, next, err := svc.ListAudit(cmd.Context(), f)
			if err != nil {
				return err
			}
			views := make([]app.AuditView, 0, len(events))
			for _, ev := range events {
				views = append(views, app.NewAuditView(ev))
			}
			if asJSON {
				return writeJSON(e.stdout, listJSON[app.AuditView]{Items: views, NextCursor: next})
			}
			t := newTable(e.stdout, "ID", "AT", "TYPE", "ACTOR", "CLIENT", "USER", "OUTCOME", "DETAILS")
			for _, v := range views {
				t.row(fmt.Sprint(v.ID), ts(v.At), v.Type, v.Actor, orDash(v.ClientID), orDash(v.UserID), v.Outcome, details(v.Details))
			}
			return flushPage(e.stdout, t, next)
		}),
	}
	fl := list.Flags()
	fl.StringVar(&f.Type, "type", "", "only events of this type (e.g. client.created)")
	fl.StringVar(&f.ClientID, "client", "", "only events about this client id")
	fl.StringVar(&f.UserID, "user", "", "only events about this user id")
	fl.StringVar(&since, "since", "", "only events newer than this duration (e.g. 24h)")
	addPageFlags(fl, &f.Limit, &f.Cursor)
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(list)
	return cmd
}

func details(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+m[k])
	}
	return orDash(strings.Join(parts, " "))
}

package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// Demo identities created on the first start of an empty SQLite store.
const (
	DemoUsername = "demo"
	DemoClientID = "demo-app"
)

// bootstrapDemo creates a demo user and a public demo client when
// SESAME_DEMO is on, the store is SQLite (a development setup) and there
// are no users yet, then prints the credentials once to the terminal. The
// password is random and never logged; it exists only in that box.
func (s *Server) bootstrapDemo(ctx context.Context) error {
	if !s.Config.Demo {
		return nil
	}
	if _, ok := s.Config.SQLitePath(); !ok {
		return nil
	}
	n, err := s.Store.CountUsers(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	pw, err := secret.RandomToken(12)
	if err != nil {
		return err
	}
	issuer := s.Config.Issuer
	err = storage.InTx(ctx, s.Store, func(ctx context.Context) error {
		if _, err := s.App.CreateUser(ctx, "system", app.NewUser{
			Username: DemoUsername, Password: pw, Name: "Demo User",
			Email: "demo@example.com", EmailVerified: true,
		}); err != nil {
			return err
		}
		// The client survives a deleted demo user; keep it then.
		if _, err := s.App.GetClient(ctx, DemoClientID); err == nil {
			return nil
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		_, _, err := s.App.CreateClient(ctx, "system", app.ClientSpec{
			ID:                     DemoClientID,
			Name:                   "Sesame demo app",
			Public:                 true,
			GrantTypes:             []string{"authorization_code", "refresh_token"},
			RedirectURIs:           []string{issuer + "/demo/callback"},
			PostLogoutRedirectURIs: []string{issuer + "/demo"},
			Scopes:                 []string{"openid", "profile", "email", "offline_access"},
		})
		return err
	})
	if err != nil {
		return err
	}
	s.Logger.Info("demo user and client created", "username", DemoUsername, "client_id", DemoClientID)
	_, err = fmt.Fprint(s.out, demoBox(issuer, pw))
	return err
}

func demoBox(issuer, pw string) string {
	lines := []string{
		"Sesame demo — created on first start; the password is shown only now",
		"",
		"  open       " + issuer + "/demo",
		"  username   " + DemoUsername,
		"  password   " + pw,
		"  client_id  " + DemoClientID + "  (public client, PKCE)",
		"",
		"Turn this off with SESAME_DEMO=false.",
	}
	width := 0
	for _, l := range lines {
		width = max(width, len([]rune(l)))
	}
	var b strings.Builder
	border := "+" + strings.Repeat("-", width+2) + "+\n"
	b.WriteString("\n" + border)
	for _, l := range lines {
		b.WriteString("| " + l + strings.Repeat(" ", width-len([]rune(l))) + " |\n")
	}
	b.WriteString(border + "\n")
	return b.String()
}

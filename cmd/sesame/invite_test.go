package main

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/password"
	"github.com/sesameauth/sesame/internal/secret"
)

type invitationJSON struct {
	Email     string    `json:"email"`
	Link      string    `json:"link"`
	ExpiresAt time.Time `json:"expires_at"`
	Queued    bool      `json:"queued"`
}

// withEnv is c with more environment (a later value wins).
func (c *cli) withEnv(kv ...string) *cli {
	d := *c
	d.env = append(slices.Clone(c.env), kv...)
	return &d
}

func (c *cli) databaseURL() string {
	var db string
	for _, kv := range c.env {
		if v, ok := strings.CutPrefix(kv, "SESAME_DATABASE_URL="); ok {
			db = v
		}
	}
	return db
}

// checkInvitation asks app, on the CLI's database, whether token is a
// usable invitation, and for which address.
func checkInvitation(t *testing.T, databaseURL, token string) (string, error) {
	t.Helper()
	ctx := context.Background()
	st := openStore(t, databaseURL)
	defer st.Close()
	ring, err := secret.New([]byte("invite-test-secret-0123456789abcdef0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	return app.New(st, ring, password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, nil).CheckInvitation(ctx, token)
}

func TestUsersInvite(t *testing.T) {
	backends(t, func(t *testing.T, base *cli) {
		c := base.withEnv("SESAME_SIGNUP=invite")
		var inv invitationJSON
		before := time.Now()
		c.json(&inv, "", "users", "invite", "Alice@Example.com", "--json")
		if inv.Email == "" || !strings.EqualFold(inv.Email, "alice@example.com") || !inv.Queued ||
			inv.ExpiresAt.Before(before.Add(23*time.Hour)) || inv.ExpiresAt.After(time.Now().Add(25*time.Hour)) {
			t.Fatalf("invitation %+v", inv)
		}
		u, err := url.Parse(inv.Link)
		if err != nil || u.Path != app.PathSignup || u.Query().Get(app.InviteParam) == "" {
			t.Fatalf("link %q", inv.Link)
		}
		token := u.Query().Get(app.InviteParam)
		if got, err := checkInvitation(t, c.databaseURL(), token); err != nil || !strings.EqualFold(got, "alice@example.com") {
			t.Fatalf("CheckInvitation(%q) = %q, %v", token, got, err)
		}
		if _, err := checkInvitation(t, c.databaseURL(), token+"x"); !errors.Is(err, app.ErrLinkInvalid) {
			t.Fatalf("a wrong token: %v", err)
		}

		// The invitation mail is in the queue, carrying the link.
		var l list[mailJSON]
		c.json(&l, "", "mail", "list", "--json")
		if len(l.Items) != 1 || l.Items[0].Recipient != inv.Email || l.Items[0].Status != "queued" ||
			len(l.Items[0].Links) != 1 || l.Items[0].Links[0] != inv.Link {
			t.Fatalf("mail queue: %+v", l.Items)
		}

		// Human output: the link, and where the mail went.
		out := c.ok("", "users", "invite", "bob@example.com")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if !strings.HasPrefix(lines[0], "http://localhost:8080/signup?invite=") ||
			!strings.Contains(out, "queued") || !strings.Contains(out, "sesame mail list") {
			t.Fatalf("human output:\n%s", out)
		}

		// Bad input and sign-up off change nothing.
		c.fails(1, `email "not an address": must be a plain email address`, "", "users", "invite", "not an address")
		c.fails(1, "email", "", "users", "invite", "a@example.com\r\nBcc: x@example.com")
		base.withEnv("SESAME_SIGNUP=off").fails(1, "sign-up is off", "", "users", "invite", "carol@example.com")
		base.fails(1, "sign-up is off", "", "users", "invite", "carol@example.com") // the default
		// An address that has an account already is a conflict.
		c.ok("pw-long-enough\n", "users", "create", "dave", "--password-stdin", "--email", "dave@example.com")
		c.fails(1, "exists", "", "users", "invite", "dave@example.com")

		c.json(&l, "", "mail", "list", "--json")
		if len(l.Items) != 2 {
			t.Fatalf("refused invitations queued mail: %+v", l.Items)
		}
		var audit list[struct {
			Type  string `json:"type"`
			Actor string `json:"actor"`
		}]
		c.json(&audit, "", "audit", "list", "--json")
		var invited int
		for _, e := range audit.Items {
			if e.Type == "user.invited" {
				invited++
				if e.Actor != "cli" {
					t.Errorf("actor %q", e.Actor)
				}
			}
		}
		if invited != 2 {
			t.Fatalf("user.invited events: %d, want 2: %+v", invited, audit.Items)
		}
	})
}

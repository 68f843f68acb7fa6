package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/storage/postgres/pgtest"
)

const testSecret = "SESAME_SECRET=cli-test-secret-0123456789abcdef0123456789"

// backends runs fn against a fresh SQLite file and a fresh Postgres
// database (when SESAME_TEST_DATABASE_URL is set).
func backends(t *testing.T, fn func(t *testing.T, c *cli)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, newCLI(t, "sqlite:"+filepath.Join(t.TempDir(), "sesame.db")))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, newCLI(t, pgtest.URL(t), testSecret))
	})
}

type userJSON struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Email    string `json:"email"`
	Name     string `json:"name"`
	Disabled bool   `json:"disabled"`
	Password string `json:"password"`
}

type clientJSON struct {
	ClientID     string   `json:"client_id"`
	ClientName   string   `json:"client_name"`
	ClientSecret *string  `json:"client_secret"`
	RedirectURIs []string `json:"redirect_uris"`
	GrantTypes   []string `json:"grant_types"`
	Scope        string   `json:"scope"`
	Public       bool     `json:"public"`
	SkipConsent  bool     `json:"skip_consent"`
	Format       string   `json:"access_token_format"`
	Audience     []string `json:"audience"`
	AuthMethod   string   `json:"token_endpoint_auth_method"`
	RequirePAR   bool     `json:"require_pushed_authorization_requests"`
	Exchange     []string `json:"token_exchange_audiences"`
}

type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

func TestUsersAndClients(t *testing.T) {
	backends(t, func(t *testing.T, c *cli) {
		var u userJSON
		c.json(&u, "correct horse\n", "users", "create", "alice", "--password-stdin", "--email", "alice@example.com", "--name", "Alice", "--json")
		if u.Username != "alice" || u.Email != "alice@example.com" || u.Name != "Alice" || len(u.ID) != 36 || u.Password != "" {
			t.Fatalf("user JSON %+v", u)
		}
		var got userJSON
		c.json(&got, "", "users", "get", "ALICE", "--json")
		if got.ID != u.ID {
			t.Fatalf("get by username: %+v", got)
		}

		var gen userJSON
		c.json(&gen, "", "users", "create", "bob", "--generate-password", "--json")
		if len(gen.Password) < 16 {
			t.Fatalf("generated password %q", gen.Password)
		}

		var cl clientJSON
		c.json(&cl, "", "clients", "create", "--name", "Web app", "--grant-types", "authorization_code,refresh_token",
			"--redirect-uris", "https://app.example.com/cb,http://127.0.0.1:8000/cb", "--scopes", "openid profile offline_access",
			"--audience", "api1,api2", "--token-format", "opaque", "--skip-consent", "--json")
		if cl.ClientSecret == nil || len(*cl.ClientSecret) != 43 {
			t.Fatalf("confidential client must show a 256-bit secret once: %+v", cl)
		}
		if len(cl.ClientID) != 22 || cl.ClientName != "Web app" || cl.Scope != "openid profile offline_access" ||
			len(cl.RedirectURIs) != 2 || strings.Join(cl.GrantTypes, ",") != "authorization_code,refresh_token" ||
			cl.Public || !cl.SkipConsent || cl.Format != "opaque" || strings.Join(cl.Audience, ",") != "api1,api2" ||
			cl.AuthMethod != "client_secret_basic" {
			t.Fatalf("client JSON %+v", cl)
		}

		var again clientJSON
		c.json(&again, "", "clients", "get", cl.ClientID, "--json")
		if again.ClientSecret != nil {
			t.Fatal("clients get must never show the secret")
		}
		human := c.ok("", "clients", "get", cl.ClientID)
		if strings.Contains(human, *cl.ClientSecret) || !strings.Contains(human, cl.ClientID) {
			t.Fatalf("clients get (table) leaked the secret or lacks the id:\n%s", human)
		}

		var pub clientJSON
		c.json(&pub, "", "clients", "create", "--name", "SPA", "--public", "--redirect-uris", "http://localhost:5173/cb", "--scopes", "openid", "--json")
		if pub.ClientSecret != nil || !pub.Public || pub.AuthMethod != "none" {
			t.Fatalf("public client %+v", pub)
		}

		var clients list[clientJSON]
		c.json(&clients, "", "clients", "list", "--json")
		if len(clients.Items) != 2 {
			t.Fatalf("clients list: %+v", clients)
		}
		for _, it := range clients.Items {
			if it.ClientSecret != nil {
				t.Fatal("clients list must not show secrets")
			}
		}
		var users list[userJSON]
		c.json(&users, "", "users", "list", "--json")
		if len(users.Items) != 2 || users.Items[0].Username != "alice" {
			t.Fatalf("users list: %+v", users)
		}
		if out := c.ok("", "users", "list"); !strings.Contains(out, "USERNAME") || !strings.Contains(out, "alice") {
			t.Fatalf("users table:\n%s", out)
		}

		// Update, rotate, disable, delete.
		var upd clientJSON
		c.json(&upd, "", "clients", "update", cl.ClientID, "--scopes", "openid email", "--json")
		if upd.Scope != "openid email" || upd.ClientName != "Web app" || upd.ClientSecret != nil {
			t.Fatalf("update: %+v", upd)
		}
		var rot clientJSON
		c.json(&rot, "", "clients", "rotate-secret", cl.ClientID, "--json")
		if rot.ClientSecret == nil || *rot.ClientSecret == *cl.ClientSecret {
			t.Fatalf("rotate: %+v", rot)
		}
		c.ok("", "users", "disable", "alice")
		c.json(&got, "", "users", "get", u.ID, "--json")
		if !got.Disabled {
			t.Fatal("user not disabled")
		}
		c.ok("new password\n", "users", "set-password", "alice", "--password-stdin")
		c.ok("", "clients", "delete", pub.ClientID)
		c.ok("", "users", "delete", "bob")

		var audit list[struct {
			Type  string `json:"type"`
			Actor string `json:"actor"`
		}]
		c.json(&audit, "", "audit", "list", "--json")
		var types []string
		for _, e := range audit.Items {
			types = append(types, e.Type)
			if e.Actor != "cli" {
				t.Errorf("actor %q", e.Actor)
			}
		}
		want := "user.deleted client.deleted user.password_set user.disabled client.secret_rotated client.updated client.created client.created user.created user.created"
		if strings.Join(types, " ") != want {
			t.Fatalf("audit:\n got %s\nwant %s", strings.Join(types, " "), want)
		}

		status := c.ok("", "migrate", "status")
		if !strings.Contains(status, "0 pending") || strings.Contains(status, "pending\n1") {
			t.Fatalf("migrate status:\n%s", status)
		}
		if out := c.ok("", "migrate", "up"); !strings.Contains(out, "applied 0 migration") {
			t.Fatalf("migrate up on a current schema: %s", out)
		}
	})
}

func TestBadInputChangesNothing(t *testing.T) {
	backends(t, func(t *testing.T, c *cli) {
		c.ok("pw-long-enough\n", "users", "create", "alice", "--password-stdin")
		web := []string{"clients", "create", "--name", "x", "--redirect-uris", "https://app.example.com/cb"}
		tests := []struct {
			name  string
			code  int
			msg   string
			stdin string
			args  []string
		}{
			{"unknown grant type", 1, `grant_types[0] "implicit": unsupported grant type`, "",
				append(web, "--grant-types", "implicit")},
			{"relative redirect URI", 1, `redirect_uris[0] "foo": must be an absolute URI`, "",
				[]string{"clients", "create", "--name", "x", "--redirect-uris", "foo"}},
			{"unknown token format", 1, `access_token_format "xml"`, "", append(web, "--token-format", "xml")},
			{"public client with client_credentials", 1, "not allowed for public clients", "",
				[]string{"clients", "create", "--public", "--grant-types", "client_credentials"}},
			{"duplicate user, other case", 1, `user "ALICE" already exists`, "pw-long-enough\n",
				[]string{"users", "create", "ALICE", "--password-stdin"}},
			{"empty password", 1, "password: must not be empty", "\n", []string{"users", "create", "bob", "--password-stdin"}},
			{"short password (one policy, issue 12)", 1, "password: must be at least 8 characters", "short\n", []string{"users", "create", "bob", "--password-stdin"}},
			{"username as password", 1, "password: must not be the username", "bob-the-user\n", []string{"users", "create", "Bob-The-User", "--password-stdin"}},
			{"no password source", 1, "--password-stdin", "", []string{"users", "create", "bob"}},
			{"bad username", 1, "username", "pw\n", []string{"users", "create", "bad name", "--password-stdin"}},
			{"missing user", 1, `user "carol" not found`, "", []string{"users", "get", "carol"}},
			{"missing client", 1, `client "nope" not found`, "", []string{"clients", "delete", "nope"}},
			{"update with nothing", 1, "nothing to update", "", []string{"clients", "update", "nope"}},
			{"database down", 2, "cannot reach Postgres", "", []string{"--database-url", "postgres://127.0.0.1:1/x",
				"--secret", "0123456789abcdef0123456789abcdef0123", "clients", "list"}},
			{"bad setting names it", 1, "SESAME_LOG_LEVEL", "", []string{"--log-level", "loud", "clients", "list"}},
			{"unknown database scheme", 1, "SESAME_DATABASE_URL", "", []string{"--database-url", "mysql://x/y", "users", "list"}},
			{"unknown flag", 1, "unknown flag", "", []string{"clients", "create", "--nope"}},
			{"unknown command", 1, "unknown command", "", []string{"frobnicate"}},
			{"bad flag value", 1, "--limit", "", []string{"users", "list", "--limit", "many"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c.fails(tt.code, tt.msg, tt.stdin, tt.args...)
			})
		}
		var clients list[clientJSON]
		c.json(&clients, "", "clients", "list", "--json")
		if len(clients.Items) != 0 {
			t.Fatalf("a failed command wrote a client: %+v", clients.Items)
		}
		var users list[userJSON]
		c.json(&users, "", "users", "list", "--json")
		if len(users.Items) != 1 {
			t.Fatalf("users after failures: %+v", users.Items)
		}
		var audit list[struct{ Type string }]
		c.json(&audit, "", "audit", "list", "--json")
		if len(audit.Items) != 1 {
			t.Fatalf("failed commands were audited as changes: %+v", audit.Items)
		}
	})
}

func TestPostgresWithoutSecretNamesIt(t *testing.T) {
	c := newCLI(t, pgtest.URL(t))
	c.fails(1, "SESAME_SECRET", "", "users", "list")
}

func TestVersionAndHelp(t *testing.T) {
	c := newCLI(t, "sqlite:x.db")
	if out := c.ok("", "version"); !regexp.MustCompile(`^sesame \S+ .*go1\.`).MatchString(out) {
		t.Fatalf("version: %q", out)
	}
	for _, args := range [][]string{
		{"--help"}, {"serve", "--help"}, {"migrate", "up", "--help"}, {"users", "create", "--help"},
		{"clients", "create", "--help"}, {"clients", "rotate-secret", "--help"}, {"audit", "list", "--help"},
	} {
		out := c.ok("", args...)
		if !strings.Contains(out, "Usage:") {
			t.Errorf("%v: no usage in\n%s", args, out)
		}
	}
	// Help and version need no database: nothing was created.
	if matches, _ := filepath.Glob(filepath.Join(c.dir, "x.db*")); len(matches) != 0 {
		t.Fatalf("help created files: %v", matches)
	}
}

func TestConfigFile(t *testing.T) {
	c := newCLI(t, "sqlite:"+filepath.Join(t.TempDir(), "sesame.db"))
	write := func(name, body string) string {
		p := filepath.Join(c.dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c.fails(1, `unknown key "log_levle"`, "", "--config", write("typo.yaml", "log_levle: debug\n"), "users", "list")
	c.fails(1, `invalid SESAME_LOG_LEVEL "loud"`, "", "--config", write("bad.yaml", "log_level: loud\n"), "users", "list")
	c.fails(1, "secret is refused", "", "--config", write("secret.yaml", "secret: 0123456789abcdef0123456789abcdef0123\n"), "users", "list")
	// The flag beats the file.
	c.ok("", "--config", write("bad2.yaml", "log_level: loud\n"), "--log-level", "warn", "users", "list")
}

// TestSettingsCheckedBeforeTheStore: a bad setting is bad input (exit 1),
// the message names the flag that was used, and no database file is made.
func TestSettingsCheckedBeforeTheStore(t *testing.T) {
	dir := t.TempDir()
	c := newCLI(t, "sqlite:"+filepath.Join(dir, "sesame.db"))
	c.fails(1, "--secret (SESAME_SECRET)", "", "serve", "--secret", "short", "--listen", freeAddr(t))
	c.fails(1, "--secret (SESAME_SECRET)", "", "users", "list", "--secret", "short")
	c.fails(1, `"--access-token-lifetime"`, "", "serve", "--access-token-lifetime", "abc")
	c.fails(1, `"--demo"`, "", "serve", "--demo=maybe")
	c.fails(1, `unknown command "frobnicate" for "sesame users"`, "", "users", "frobnicate")
	c.fails(1, `unknown command "nope" for "sesame clients registration-token"`, "", "clients", "registration-token", "nope")
	if matches, _ := filepath.Glob(filepath.Join(dir, "sesame.db*")); len(matches) != 0 {
		t.Fatalf("bad settings created files: %v", matches)
	}
	// A bare group still prints its help.
	if out := c.ok("", "users"); !strings.Contains(out, "Available Commands:") {
		t.Fatalf("sesame users: %s", out)
	}
	// --help shows typed flags, not "string" for everything.
	help := c.ok("", "serve", "--help")
	for _, want := range []string{"--access-token-lifetime duration", "--rsa-key-bits int", "--rate-limit-api-rps float",
		"--allow-secret-in-config  ", "--metrics  ", "--janitor-interval duration", "Examples:"} {
		if !strings.Contains(help, want) {
			t.Errorf("serve --help lacks %q", want)
		}
	}
	if strings.Contains(help, "secret:") && strings.Contains(help, "--allow-secret-in-config secret:") {
		t.Error("serve --help turned a backquoted word into a type name")
	}
}

package django

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/sesameauth/sesame/rs"
	_ "modernc.org/sqlite"
)

const testSecret = "django-import-test-secret-0123456789abcdef"

// djangoProject is what testdata/mkproject.py printed.
type djangoProject struct {
	Users []struct {
		Username, Password, Hasher, Hash, Token string
	} `json:"users"`
	Hashers []string `json:"hashers"`
}

func python(t *testing.T) string {
	t.Helper()
	py := os.Getenv("PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	out, err := exec.Command(py, "-c", "import django, rest_framework, argon2, bcrypt").CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("needs Debian's python3-django python3-djangorestframework python3-argon2 python3-bcrypt (%s: %v: %s)", py, err, bytes.TrimSpace(out))
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return py
}

var sesameBin string

// buildSesame builds the binary of this tree once.
func buildSesame(t *testing.T) string {
	t.Helper()
	if sesameBin != "" {
		return sesameBin
	}
	dir, err := os.MkdirTemp("", "sesame-django-bin-")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "sesame")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/sesame").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sesameBin = bin
	return bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sesameBin != "" {
		os.RemoveAll(filepath.Dir(sesameBin))
	}
	os.Exit(code)
}

// sesame runs the CLI with env; it returns stdout, and fails the test
// unless the exit status is wantExit.
type cli struct {
	t   *testing.T
	bin string
	env []string
}

func (c cli) run(wantExit int, args ...string) string {
	c.t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = append(os.Environ(), c.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	if code != wantExit {
		c.t.Fatalf("sesame %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantExit, stdout.String(), stderr.String())
	}
	if wantExit != 0 {
		return stderr.String()
	}
	return stdout.String()
}

func (c cli) json(v any, args ...string) {
	c.t.Helper()
	out := c.run(0, append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("sesame %v --json: %v\n%s", args, err, out)
	}
}

type report struct {
	Users, Groups, Memberships, Tokens struct{ Created, Updated, Unchanged, Skipped int }
	Skipped                            []struct{ Table, ID, Name, Reason string }
	Warnings                           []struct{ Table, ID, Name, Reason string }
}

func mkProject(t *testing.T, py, dir string, env ...string) djangoProject {
	t.Helper()
	cmd := exec.Command(py, "testdata/mkproject.py", dir)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("mkproject.py: %v\n%s", err, stderr)
	}
	var p djangoProject
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("mkproject.py output: %v\n%s", err, out)
	}
	return p
}

func TestImportSQLite(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	p := mkProject(t, py, dir)
	runImport(t, p, "sqlite:"+filepath.Join(dir, "db.sqlite3"), filepath.Join(dir, "db.sqlite3"))
}

func TestImportPostgres(t *testing.T) {
	py := python(t)
	base := os.Getenv("SESAME_TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("SESAME_TEST_DATABASE_URL is not set")
		}
		t.Skip("SESAME_TEST_DATABASE_URL is not set")
	}
	if out, err := exec.Command(py, "-c", "import psycopg2").CombinedOutput(); err != nil {
		msg := fmt.Sprintf("needs Debian's python3-psycopg2: %s", out)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("django_import_%d", time.Now().UnixNano())
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") })
	p := mkProject(t, py, t.TempDir(), "DJANGO_PG_NAME="+name, "DJANGO_PG_HOST="+u.Hostname(), "DJANGO_PG_PORT="+u.Port(),
		"DJANGO_PG_USER="+u.User.Username())
	src := *u
	src.Path = "/" + name
	runImport(t, p, src.String(), "")
}

// runImport imports the project at from into a fresh Sesame (SQLite) and
// drives the server. sqlitePath is the Django database file when it is
// one (for the bad-input cases that edit a copy).
func runImport(t *testing.T, p djangoProject, from, sqlitePath string) {
	work := t.TempDir()
	c := cli{t: t, bin: buildSesame(t), env: []string{
		"SESAME_DATABASE_URL=sqlite:" + filepath.Join(work, "sesame.db"),
		"SESAME_SECRET=" + testSecret, "SESAME_DEMO=false", "SESAME_LOG_LEVEL=warn",
		"SESAME_ID_TOKEN_SIGNING_ALG=ES256", "SESAME_KEY_ROTATION_INTERVAL=0",
	}}
	c.run(0, "migrate", "up")
	var api struct{ ClientID, ClientSecret string }
	var raw map[string]any
	c.json(&raw, "clients", "create", "--name", "drf-api", "--grant-types", "password",
		"--scopes", "openid profile email groups sesame:introspect")
	api.ClientID, api.ClientSecret = raw["client_id"].(string), raw["client_secret"].(string)
	c.json(&raw, "clients", "create", "--name", "web", "--grant-types", "authorization_code",
		"--redirect-uris", "https://app.example.test/cb", "--scopes", "openid profile groups", "--skip-consent")
	webID, webSecret := raw["client_id"].(string), raw["client_secret"].(string)

	n := len(p.Users) + 2 // + the inactive and the unusable-password user
	var dry report
	c.json(&dry, "import", "django", "--from", from, "--client", api.ClientID, "--dry-run")
	var users struct{ Items []map[string]any }
	c.json(&users, "users", "list")
	if dry.Users.Created != n || len(users.Items) != 0 {
		t.Fatalf("dry run: %d users would be created (want %d), %d exist after it (want 0)", dry.Users.Created, n, len(users.Items))
	}

	start := time.Now()
	var rep report
	c.json(&rep, "import", "django", "--from", from, "--client", api.ClientID)
	t.Logf("import of %d users took %s", n, time.Since(start))
	if rep.Users.Created != n || rep.Groups.Created != 2 || rep.Tokens.Created != len(p.Users) || len(rep.Skipped) != 0 {
		t.Fatalf("first import: %+v", rep)
	}
	if rep.Memberships.Created != len(p.Users)+(len(p.Users)+1)/2 {
		t.Errorf("memberships created %d", rep.Memberships.Created)
	}
	var again report
	c.json(&again, "import", "django", "--from", from, "--client", api.ClientID)
	if again.Users.Unchanged != n || again.Users.Created+again.Users.Updated+again.Groups.Created+again.Memberships.Created+again.Tokens.Created != 0 {
		t.Fatalf("second import changed something: %+v", again)
	}
	if out := c.run(0, "import", "django", "--from", from, "--client", api.ClientID); !strings.Contains(out, "nothing changed") {
		t.Errorf("third import does not say nothing changed:\n%s", out)
	}
	// Each DRF token is listed like other personal tokens, never by value.
	personal := func(username string) int {
		out := c.run(0, "tokens", "list", "--user", username, "--json")
		var toks struct {
			Items []struct {
				ClientID string `json:"client_id"`
				Kind     string `json:"kind"`
			}
		}
		if err := json.Unmarshal([]byte(out), &toks); err != nil {
			t.Fatalf("tokens list: %v\n%s", err, out)
		}
		n := 0
		for _, tk := range toks.Items {
			if tk.Kind == "personal_token" && tk.ClientID == api.ClientID {
				n++
			}
		}
		return n
	}
	for _, u := range p.Users {
		if n := personal(u.Username); n != 1 {
			t.Errorf("tokens list --user %s: %d DRF tokens, want 1", u.Username, n)
		}
		if out := c.run(0, "tokens", "list", "--user", u.Username); strings.Contains(out, u.Token) || !strings.Contains(out, "personal_token") {
			t.Errorf("tokens list --user %s shows the key or not the token:\n%s", u.Username, out)
		}
	}
	// Django's last_login is kept (microseconds included); NULL stays "never".
	var gone, never map[string]any
	c.json(&gone, "users", "get", "gone_fishing")
	c.json(&never, "users", "get", p.Users[0].Username)
	if gone["last_login_at"] != "2024-05-06T07:08:09.123456Z" || never["last_login_at"] != nil {
		t.Errorf("last_login_at after import: gone_fishing %v, %s %v", gone["last_login_at"], p.Users[0].Username, never["last_login_at"])
	}
	var groups struct {
		Items []struct {
			Name    string
			Members []string
		}
	}
	c.json(&groups, "groups", "list")
	if len(groups.Items) != 2 || groups.Items[0].Name != "ops" || len(groups.Items[1].Members) != len(p.Users) {
		t.Errorf("groups after import: %+v", groups.Items)
	}

	issuer := serve(t, c)
	h := &http.Client{Timeout: 30 * time.Second}
	// A Go API using the rs kit: JWTs verified locally, anything else
	// (a DRF key) introspected.
	introspector, err := rs.NewIntrospector(context.Background(), rs.IntrospectionConfig{Issuer: issuer,
		ClientID: api.ClientID, ClientSecret: api.ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	kit := rs.NewAuthenticator(nil, introspector)
	for i, u := range p.Users {
		t.Run(u.Hasher, func(t *testing.T) {
			// The DRF key, exactly as the DRF client sends it.
			in := postForm(t, h, issuer+"/oauth2/introspect", url.Values{"token": {u.Token}}, api.ClientID, api.ClientSecret)
			if in["active"] != true || in["username"] != u.Username {
				t.Fatalf("introspection of the DRF token: %v", in)
			}
			ui := getJSON(t, h, issuer+"/userinfo", u.Token)
			if ui["preferred_username"] != u.Username {
				t.Fatalf("userinfo with the DRF token: %v", ui)
			}
			if p, err := kit.Authenticate(context.Background(), u.Token); err != nil || p.Username != u.Username {
				t.Fatalf("the rs kit with the DRF token: %+v %v", p, err)
			}
			// Django's groups, in every place the groups scope reaches.
			want := []string{"staff"}
			if i%2 == 0 {
				want = []string{"ops", "staff"}
			}
			for where, v := range map[string]any{"introspection": in["groups"], "userinfo": ui["groups"]} {
				if got := groupNames(v); !slices.Equal(got, want) {
					t.Errorf("groups in %s of the DRF token: %v, want %v", where, got, want)
				}
			}
			if !strings.HasPrefix(storedHash(t, work, u.Username), u.Hasher+"$") {
				t.Fatalf("before sign-in the stored hash is not Django's %s", u.Hasher)
			}
			// First sign-in with the original password: web form for
			// even, password grant for odd users; then the other way.
			web := func() {
				claims := webLogin(t, issuer, webID, webSecret, u.Username, u.Password)
				if got := groupNames(claims["groups"]); !slices.Equal(got, want) {
					t.Errorf("groups in the ID token: %v, want %v", got, want)
				}
			}
			grant := func() {
				tok := postForm(t, h, issuer+"/oauth2/token", url.Values{"grant_type": {"password"},
					"username": {u.Username}, "password": {u.Password}, "scope": {"openid"}}, api.ClientID, api.ClientSecret)
				if tok["access_token"] == nil {
					t.Fatalf("password grant with the original password: %v", tok)
				}
			}
			if i%2 == 0 {
				web()
				if h := storedHash(t, work, u.Username); !strings.HasPrefix(h, "$argon2id$") {
					t.Fatalf("after the first web sign-in the hash is still %.20s…", h)
				}
				grant()
			} else {
				grant()
				web()
				if h := storedHash(t, work, u.Username); !strings.HasPrefix(h, "$argon2id$") {
					t.Fatalf("after signing in the hash is still %.20s…", h)
				}
			}
			bad := postForm(t, h, issuer+"/oauth2/token", url.Values{"grant_type": {"password"},
				"username": {u.Username}, "password": {u.Password + "x"}}, api.ClientID, api.ClientSecret)
			if bad["error"] != "invalid_grant" {
				t.Fatalf("wrong password: %v", bad)
			}
		})
	}
	t.Run("a re-import keeps the upgraded hash and the Sesame sign-in time", func(t *testing.T) {
		var rep report
		c.json(&rep, "import", "django", "--from", from, "--client", api.ClientID)
		if h := storedHash(t, work, p.Users[0].Username); !strings.HasPrefix(h, "$argon2id$") {
			t.Fatalf("re-import replaced the upgraded hash with %.20s…", h)
		}
		// Every user signed in above: last_login_at is recent, and
		// Django's NULL does not erase it.
		for _, u := range p.Users {
			var got map[string]any
			c.json(&got, "users", "get", u.Username)
			at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(got["last_login_at"]))
			if err != nil || time.Since(at) > 10*time.Minute || time.Until(at) > time.Minute {
				t.Errorf("%s: last_login_at %v after signing in", u.Username, got["last_login_at"])
			}
		}
	})
	t.Run("unusable and inactive users cannot sign in", func(t *testing.T) {
		for _, up := range [][2]string{{"no_password", ""}, {"no_password", "!"}, {"gone_fishing", "inactive-pw"}} {
			r := postForm(t, h, issuer+"/oauth2/token", url.Values{"grant_type": {"password"},
				"username": {up[0]}, "password": {up[1] + "x"}}, api.ClientID, api.ClientSecret)
			if r["error"] != "invalid_grant" {
				t.Errorf("%s: %v", up[0], r)
			}
		}
	})
	t.Run("a revoked DRF token is inactive", func(t *testing.T) {
		// RFC 7009 revocation by the token's client, with the DRF key.
		tok := p.Users[len(p.Users)-1].Token
		req, _ := http.NewRequest(http.MethodPost, issuer+"/oauth2/revoke", strings.NewReader(url.Values{"token": {tok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(api.ClientID), url.QueryEscape(api.ClientSecret))
		if r, err := h.Do(req); err != nil || r.StatusCode != http.StatusOK {
			t.Fatalf("revoke: %v %v", r, err)
		}
		if in := postForm(t, h, issuer+"/oauth2/introspect", url.Values{"token": {tok}}, api.ClientID, api.ClientSecret); in["active"] != false {
			t.Fatalf("introspection after revoke: %v", in)
		}
		if in := postForm(t, h, issuer+"/oauth2/introspect", url.Values{"token": {p.Users[0].Token}}, api.ClientID, api.ClientSecret); in["active"] != true {
			t.Fatalf("another user's DRF token after revoke: %v", in)
		}
		if n := personal(p.Users[len(p.Users)-1].Username); n != 0 {
			t.Errorf("the revoked DRF token is still listed (%d)", n)
		}
	})
	if sqlitePath != "" {
		badInput(t, c, sqlitePath, api.ClientID)
	}
}

// badInput: copies of the Django database with one defect each.
func badInput(t *testing.T, c cli, djangoDB, clientID string) {
	edit := func(t *testing.T, stmts ...string) string {
		t.Helper()
		b, err := os.ReadFile(djangoDB)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "db.sqlite3")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, s := range stmts {
			if _, err := db.Exec(s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
		return "sqlite:" + path
	}
	t.Run("unsupported schema version", func(t *testing.T) {
		c := c
		c.t = t
		from := edit(t, `DELETE FROM django_migrations WHERE app = 'auth' AND name >= '0009'`)
		stderr := c.run(1, "import", "django", "--from", from)
		if !strings.Contains(stderr, "unsupported schema") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Fatalf("stderr: %q", stderr)
		}
	})
	t.Run("not a Django database", func(t *testing.T) {
		c := c
		c.t = t
		stderr := c.run(1, "import", "django", "--from", edit(t, `DROP TABLE django_migrations`))
		if !strings.Contains(stderr, "django_migrations") {
			t.Fatalf("stderr: %q", stderr)
		}
		stderr = c.run(1, "import", "django", "--from", "sqlite:"+filepath.Join(t.TempDir(), "missing.db"))
		if !strings.Contains(stderr, "does not exist") {
			t.Fatalf("stderr: %q", stderr)
		}
	})
	t.Run("truncated hash, case duplicate, orphan token, unknown algorithm", func(t *testing.T) {
		c := c
		c.t = t
		from := edit(t,
			`INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
			 VALUES ('pbkdf2_sha256$260000$abc$dGVzdA', 0, 'truncated', '', '', '', 0, 1, '2020-01-02 03:04:05')`,
			`INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
			 VALUES ('!x', 0, 'USER_BCRYPT', '', '', '', 0, 1, '2020-01-02 03:04:05')`,
			`INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
			 VALUES ('md5$abc$882f9f204981d48730865ea15aeaca29', 0, 'old_md5', '', '', '', 0, 1, '2020-01-02 03:04:05')`,
			`PRAGMA foreign_keys = OFF`,
			`INSERT INTO authtoken_token (key, created, user_id) VALUES ('0123456789abcdef0123456789abcdef01234567', '2020-01-02 03:04:05', 9999)`,
		)
		var rep report
		c.json(&rep, "import", "django", "--from", from, "--client", clientID)
		reasons := map[string]string{}
		for _, s := range rep.Skipped {
			reasons[s.Table+"/"+s.Name+"/"+s.ID] = s.Reason
		}
		want := map[string]*regexp.Regexp{
			"auth_user/truncated/":       regexp.MustCompile(`malformed \(truncated\?\)`),
			"auth_user/USER_BCRYPT/":     regexp.MustCompile(`differs only in case from "user_bcrypt"`),
			"authtoken_token//user 9999": regexp.MustCompile(`auth_user 9999\) does not exist`),
		}
		for prefix, re := range want {
			found := false
			for k, r := range reasons {
				if strings.HasPrefix(k, prefix) && re.MatchString(r) {
					found = true
				}
			}
			if !found {
				t.Errorf("no skipped row %s matching %s in %v", prefix, re, reasons)
			}
		}
		if rep.Users.Created != 1 || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0].Reason, `"md5"`) {
			t.Errorf("md5 user: created %d, warnings %+v", rep.Users.Created, rep.Warnings)
		}
	})
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// serve starts `sesame serve` and waits until it is ready.
func serve(t *testing.T, c cli) string {
	addr := freePort(t)
	issuer := "http://" + addr
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, c.bin, "serve")
	cmd.Env = append(append(os.Environ(), c.env...), "SESAME_LISTEN="+addr, "SESAME_ISSUER="+issuer)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	for i := 0; i < 200; i++ {
		if r, err := http.Get(issuer + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return issuer
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server did not become ready:\n%s", logs.String())
	return ""
}

func postForm(t *testing.T, h *http.Client, u string, form url.Values, id, sec string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(sec))
	return doJSON(t, h, req)
}

func getJSON(t *testing.T, h *http.Client, u, bearer string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	return doJSON(t, h, req)
}

func doJSON(t *testing.T, h *http.Client, req *http.Request) map[string]any {
	t.Helper()
	r, err := h.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: %d %s", req.Method, req.URL, r.StatusCode, b)
	}
	return m
}

var (
	csrfRE   = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

// webLogin signs in through the login form of an authorization-code flow
// and checks the code reaches the client.
// webLogin signs in through the browser flow and returns the ID token's
// claims (the signature is checked by the oidc package's own tests).
func webLogin(t *testing.T, issuer, clientID, clientSecret, username, pw string) map[string]any {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if !strings.HasPrefix(req.URL.String(), issuer+"/") {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {"https://app.example.test/cb"},
		"scope": {"openid profile groups"}, "state": {"state-123456"}, "nonce": {"nonce-123456"}}
	r, err := b.Get(issuer + "/oauth2/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(r.Body)
	r.Body.Close()
	a, cs := actionRE.FindSubmatch(page), csrfRE.FindSubmatch(page)
	if a == nil || cs == nil {
		t.Fatalf("no login form: %d\n%s", r.StatusCode, page)
	}
	action := strings.ReplaceAll(string(a[1]), "&amp;", "&")
	if !strings.HasPrefix(action, "http") {
		action = issuer + action
	}
	r, err = b.PostForm(action, url.Values{"username": {username}, "password": {pw}, "csrf_token": {string(cs[1])}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	loc, _ := url.Parse(r.Header.Get("Location"))
	if loc == nil || loc.Host != "app.example.test" || loc.Query().Get("code") == "" {
		t.Fatalf("web sign-in of %s with the original password: %d %s\n%.500s", username, r.StatusCode, r.Header.Get("Location"), body)
	}
	tok := postForm(t, b, issuer+"/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {"https://app.example.test/cb"}}, clientID, clientSecret)
	idt, _ := tok["id_token"].(string)
	parts := strings.Split(idt, ".")
	if len(parts) != 3 {
		t.Fatalf("code exchange after the web sign-in: %v", tok)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// groupNames turns a JSON groups claim into its names.
func groupNames(v any) []string {
	raw, _ := v.([]any)
	out := []string{}
	for _, g := range raw {
		s, _ := g.(string)
		out = append(out, s)
	}
	return out
}

// storedHash reads a user's password hash straight from Sesame's database.
func storedHash(t *testing.T, work, username string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(work, "sesame.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var h string
	if err := db.QueryRow(`SELECT password_hash FROM users WHERE username = ?`, username).Scan(&h); err != nil {
		t.Fatalf("read hash of %s: %v", username, err)
	}
	return h
}

package ui

import (
	"html/template"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// samples renders every page with representative data.
var samples = map[string]any{
	"login": struct {
		Action, CSRF, Username, Error, ClientName string
		Remember                                  bool
		Upstreams                                 []struct{ Name, URL string }
		Directory                                 string
		Passkey                                   *struct{ Begin, Finish string }
		Signup, Resend, Forgot                    string
	}{"/login?flow=x", "tok", "alice", "Incorrect username or password.", "App", true,
		[]struct{ Name, URL string }{{"Google", "/login/upstream/google?flow=x"}}, "",
		&struct{ Begin, Finish string }{"/login/passkey/begin?flow=x", "/login/passkey/finish?flow=x"}, "/signup", "", "/password/forgot"},
	"consent":  nil, // filled in the test (needs a slice of structs)
	"account":  nil,
	"error":    ErrorData{Heading: "Bad", Message: "Go back.", Ref: "ABCD-EFGH"},
	"notfound": nil,
	"confirm": struct {
		Name, ClientID, Session, Action, CSRF string
	}{"App", "c", "", "/account/revoke", "tok"},
	"signedout": nil,
	"logout": struct {
		ClientName, CSRF string
		Params           map[string]string
	}{"App", "tok", map[string]string{"state": "s"}},
	"demo": struct{ Error string }{"boom"},
	"forgot": struct {
		CSRF, Identifier, Error string
		Sent, MailOff           bool
	}{"tok", "alice", "forgot.invalid", false, false},
	"reset": struct {
		CSRF, Token, Error string
		Invalid            bool
	}{"tok", "link-token", "signup.invalid_password", false},
	"demoresult": struct {
		Subject, TokenEndpoint, IDTokenClaims, UserInfo, AccessTokenKind, Expiry string
		HasRefresh                                                               bool
	}{"u1", "http://x/token", "{}", "{}", "a JWT", "now", true},
	"mfa": struct {
		Action, CSRF, Error, ClientName string
		Passkey                         *struct{ Begin, Finish string }
	}{"/login/mfa?flow=x", "tok", "mfa.wrong", "App", &struct{ Begin, Finish string }{"/b", "/f"}},
	"totp": struct {
		Action, CSRF, Error, FactorID, Secret, URI, Cancel string
		QR, Link                                           template.URL
		Required                                           bool
	}{"/login/mfa/enrol", "tok", "totp.wrong", "f1", "JBSWY3DP", "otpauth://totp/x", "/account/security",
		"data:image/png;base64,iVBOR", "otpauth://totp/x", true},
	"formpost": FormPostData{Action: "https://app.example.com/cb?x=1", Fields: []FormField{{"code", "c"}, {"state", `"><script>`}}},
	"recovery": struct {
		Codes []string
		Next  string
	}{[]string{"abcde-fghjk"}, "/account/security"},
	"security": struct {
		CSRF, Notice, Error string
		TOTP                *struct {
			ID         string
			CreatedAt  time.Time
			LastUsedAt *time.Time
		}
		RecoveryLeft int
		Passkeys     []struct {
			ID, Name   string
			CreatedAt  time.Time
			LastUsedAt *time.Time
		}
		PasskeysEnabled bool
	}{"tok", "security.done_totp", "", &struct {
		ID         string
		CreatedAt  time.Time
		LastUsedAt *time.Time
	}{"f1", time.Now(), nil}, 7, []struct {
		ID, Name   string
		CreatedAt  time.Time
		LastUsedAt *time.Time
	}{{"f2", "YubiKey", time.Now(), nil}}, true},
}

type scope struct{ Name, Title, Description string }
type app struct {
	ClientID, Name      string
	Scopes              []string
	GrantedAt, LastUsed time.Time
}

func TestEveryPageRendersWithoutInlineScriptOrStyle(t *testing.T) {
	samples["consent"] = struct {
		Action, CSRF, Username, ClientName, LogoURI, ClientURI, PolicyURI, TermsURI string
		Scopes                                                                      []scope
		APIs                                                                        []struct{ Name, URI string }
		Initial, RedirectHost, SwitchURL, DocumentHost                              string
		Unverified, Remember                                                        bool
	}{"/consent?flow=x", "tok", "alice", "App", "https://example.com/logo.png", "https://example.com", "https://example.com/p", "https://example.com/t",
		[]scope{{"openid", "Know who you are", "x"}}, []struct{ Name, URI string }{{"Orders API", "https://api.example.com"}},
		"A", "app.example.com", "/oauth2/authorize?client_id=c&prompt=login", "app.example.com", true, false}
	type identity struct{ UpstreamID, Subject, Provider, Account string }
	samples["account"] = struct {
		Username, Name, Email string
		Apps                  []app
		CSRF, Notice, Error   string
		Identities            []identity
		Linkable              []struct{ Name, URL string }
		Sessions              []struct {
			Handle, UserAgent, CreatedAt string
			Current                      bool
		}
	}{"alice", "Alice", "a@example.com", []app{{ClientID: "c", Name: "App", Scopes: []string{"a"}, GrantedAt: time.Now()}}, "tok", "Done.", "",
		[]identity{{"google", "s-1", "Google", "alice@gmail.test"}}, []struct{ Name, URL string }{{"GitHub", "/login/upstream/github?link=1"}},
		[]struct {
			Handle, UserAgent, CreatedAt string
			Current                      bool
		}{{"h1", "Firefox", "2026-01-01 10:00 UTC", true}}}
	labelFor := regexp.MustCompile(`<label for="([^"]+)"`)
	inputID := regexp.MustCompile(`<input id="([^"]+)"[^>]*type="(?:text|password|checkbox)"`)
	for name := range current().pages[DefaultLanguage] {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Render(rec, http.StatusOK, name, "Title", samples[name])
			body := rec.Body.String()
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, body)
			}
			// The only script allowed is our static file, loaded by src.
			scripts := strings.Count(body, "<script")
			if scripts != strings.Count(body, `<script src="/static/passkeys.js" defer></script>`)+
				strings.Count(body, `<script src="/static/formpost.js" defer></script>`) {
				t.Error("an inline script in the page")
			}
			if strings.Contains(body, "style=") || strings.Contains(body, "<style") || strings.Contains(body, " on") && regexp.MustCompile(` on[a-z]+=`).MatchString(body) {
				t.Error("inline script, style or event handler in the page")
			}
			if rec.Header().Get("Content-Security-Policy") != CSP || rec.Header().Get("X-Frame-Options") != "DENY" {
				t.Error("security headers missing")
			}
			labels := map[string]bool{}
			for _, m := range labelFor.FindAllStringSubmatch(body, -1) {
				labels[m[1]] = true
			}
			for _, m := range inputID.FindAllStringSubmatch(body, -1) {
				if !labels[m[1]] {
					t.Errorf("input %s has no label", m[1])
				}
			}
		})
	}
}

func TestStylesheetIsServed(t *testing.T) {
	rec := httptest.NewRecorder()
	Static().ServeHTTP(rec, httptest.NewRequest("GET", StylesheetPath, nil))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/css") {
		t.Fatalf("stylesheet: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
}

func TestWhen(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, "never"},
		{now.Add(-30 * time.Second), "just now (1 Mar 2026 11:59 UTC)"},
		{now.Add(-time.Minute), "1 minute ago (1 Mar 2026 11:59 UTC)"},
		{now.Add(-3 * time.Hour), "3 hours ago (1 Mar 2026 09:00 UTC)"},
		{now.Add(-72 * time.Hour), "3 days ago (26 Feb 2026 12:00 UTC)"},
		{now.Add(-100 * 24 * time.Hour), "21 Nov 2025 12:00 UTC"},
		{now.In(time.FixedZone("CET", 3600)).Add(-2 * time.Hour), "2 hours ago (1 Mar 2026 10:00 UTC)"},
	} {
		if got := When(tt.t, now); got != tt.want {
			t.Errorf("When(%v) = %q, want %q", tt.t, got, tt.want)
		}
	}
}

func TestWantsHTML(t *testing.T) {
	for accept, want := range map[string]bool{
		"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8": true,
		"application/json":            false,
		"":                            false,
		"*/*":                         false,
		"application/json, text/html": false,
	} {
		r := httptest.NewRequest("GET", "/nope", nil)
		r.Header.Set("Accept", accept)
		if got := WantsHTML(r); got != want {
			t.Errorf("WantsHTML(%q) = %v, want %v", accept, got, want)
		}
	}
}

func TestErrorPageShowsReferenceNotCode(t *testing.T) {
	rec := httptest.NewRecorder()
	ref := Error(rec, http.StatusBadRequest, "This app is not known here", "Go back to the app.", "invalid_client")
	body := rec.Body.String()
	if !regexp.MustCompile(`^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$`).MatchString(ref) || !strings.Contains(body, ref) {
		t.Fatalf("reference %q not on the page", ref)
	}
	if strings.Contains(body, "invalid_client") {
		t.Error("the protocol error code is shown to people")
	}
	if Error(httptest.NewRecorder(), 400, "h", "m", "c") == ref {
		t.Error("two errors got the same reference")
	}
}

func TestFavicon(t *testing.T) {
	rec := httptest.NewRecorder()
	Favicon().ServeHTTP(rec, httptest.NewRequest("GET", "/favicon.ico", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(rec.Body.String(), "<svg") {
		t.Fatalf("favicon: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
}

var keyUse = regexp.MustCompile(`\{\{t "([a-z_.]+)"`)

// TestEveryTextIsInEveryCatalogue: each key a template uses exists in
// every shipped language, and the catalogues have the same keys.
func TestEveryTextIsInEveryCatalogue(t *testing.T) {
	th := current()
	if len(th.langs) < 2 {
		t.Fatalf("languages: %v", th.langs)
	}
	entries, _ := templateFS.ReadDir("templates")
	for _, e := range entries {
		b, _ := templateFS.ReadFile("templates/" + e.Name())
		for _, m := range keyUse.FindAllStringSubmatch(string(b), -1) {
			for _, lang := range th.langs {
				if _, ok := th.messages[lang][m[1]]; !ok {
					t.Errorf("%s: key %q missing from messages/%s.json", e.Name(), m[1], lang)
				}
			}
		}
	}
	for k := range th.messages["en"] {
		if _, ok := th.messages["de"][k]; !ok {
			t.Errorf("messages/de.json lacks %q", k)
		}
	}
}

func TestLanguageNegotiation(t *testing.T) {
	for _, tt := range []struct{ query, cookie, accept, want string }{
		{"", "", "", "en"},
		{"", "", "de-CH,de;q=0.9,en;q=0.8", "de"},
		{"", "", "fr-FR,fr;q=0.9", "en"},
		{"ui_locales=de", "", "en-US", "de"},
		{"ui_locales=fr+de", "", "en", "de"},
		{"", "de", "en", "de"},
		{"ui_locales=en", "de", "de", "en"},
	} {
		r := httptest.NewRequest("GET", "/login?"+tt.query, nil)
		if tt.accept != "" {
			r.Header.Set("Accept-Language", tt.accept)
		}
		if tt.cookie != "" {
			r.AddCookie(&http.Cookie{Name: localeCookie, Value: tt.cookie})
		}
		if got := Language(r); got != tt.want {
			t.Errorf("%+v: %s", tt, got)
		}
	}
}

func TestGermanPage(t *testing.T) {
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/login?ui_locales=de", nil)
	Negotiate(rec, r)
	Render(rec, http.StatusOK, "login", "Sign in", samples["login"])
	body := rec.Body.String()
	for _, want := range []string{`<html lang="de">`, "<title>Anmelden · Sesame</title>", "Benutzername", "Benutzername oder Passwort ist falsch."} {
		if !strings.Contains(body, want) {
			t.Errorf("German login page lacks %q", want)
		}
	}
	if c := rec.Result().Cookies(); len(c) != 1 || c[0].Name != localeCookie || c[0].Value != "de" || !c[0].HttpOnly {
		t.Errorf("ui_locales not remembered: %v", c)
	}
}

func TestThemeDirOverrides(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("messages/en.json", `{"brand": "Acme ID", "login.heading": "Welcome back"}`)
	write("static/sesame.css", "body{background:#123}")
	write("static/logo.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>")
	write("templates/notfound.html", `{{define "content"}}<h1>Lost?</h1>{{end}}`)
	th, err := LoadTheme(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := current()
	Use(th)
	defer Use(old)

	rec := httptest.NewRecorder()
	Render(rec, http.StatusOK, "login", "Sign in", samples["login"])
	body := rec.Body.String()
	for _, want := range []string{"Acme ID", "Welcome back", `src="/static/logo"`, "Password"} {
		if !strings.Contains(body, want) {
			t.Errorf("themed login page lacks %q", want)
		}
	}
	rec = httptest.NewRecorder()
	NotFound(rec, htmlRequest())
	if !strings.Contains(rec.Body.String(), "<h1>Lost?</h1>") || !strings.Contains(rec.Body.String(), "Acme ID") {
		t.Errorf("template override not used: %s", rec.Body)
	}
	for path, want := range map[string]string{StylesheetPath: "body{background:#123}", LogoPath: "<svg"} {
		rec = httptest.NewRecorder()
		Static().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), want) {
			t.Errorf("%s: %d %q", path, rec.Code, rec.Body)
		}
	}

	write("templates/login.html", `{{define "content"}}{{.Nope`)
	if _, err := LoadTheme(dir); err == nil || !strings.Contains(err.Error(), "login") {
		t.Errorf("broken template accepted: %v", err)
	}
	if _, err := LoadTheme(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing theme dir accepted")
	}
}

func htmlRequest() *http.Request {
	r := httptest.NewRequest("GET", "/nope", nil)
	r.Header.Set("Accept", "text/html")
	return r
}

package ui

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

// samples renders every page with representative data.
var samples = map[string]any{
	"login":    struct{ Action, CSRF, Username, Error, ClientName string }{"/login?flow=x", "tok", "alice", "Incorrect username or password.", "App"},
	"consent":  nil, // filled in the test (needs a slice of structs)
	"account":  nil,
	"error":    ErrorData{Heading: "Bad", Message: "Go back.", Ref: "ABCD-EFGH"},
	"notfound": nil,
	"confirm": struct {
		Heading, Message, Button, Action, CSRF, ClientID string
	}{"Remove access for App?", "It stops working.", "Remove access", "/account/revoke", "tok", "c"},
	"signedout": nil,
	"logout": struct {
		ClientName, CSRF string
		Params           map[string]string
	}{"App", "tok", map[string]string{"state": "s"}},
	"demo": struct{ Error string }{"boom"},
	"demoresult": struct {
		Subject, TokenEndpoint, IDTokenClaims, UserInfo, AccessTokenKind, Expiry string
		HasRefresh                                                               bool
	}{"u1", "http://x/token", "{}", "{}", "a JWT", "now", true},
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
		Initial, RedirectHost, SwitchURL                                            string
		Unverified, Remember                                                        bool
	}{"/consent?flow=x", "tok", "alice", "App", "https://example.com/logo.png", "https://example.com", "https://example.com/p", "https://example.com/t",
		[]scope{{"openid", "Know who you are", "x"}}, "A", "app.example.com", "/oauth2/authorize?client_id=c&prompt=login", true, false}
	samples["account"] = struct {
		Username, Name, Email string
		Apps                  []app
		CSRF, Notice, Error   string
	}{"alice", "Alice", "a@example.com", []app{{ClientID: "c", Name: "App", Scopes: []string{"a"}, GrantedAt: time.Now()}}, "tok", "Done.", ""}
	labelFor := regexp.MustCompile(`<label for="([^"]+)"`)
	inputID := regexp.MustCompile(`<input id="([^"]+)"[^>]*type="(?:text|password|checkbox)"`)
	for name := range pages {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Render(rec, http.StatusOK, name, "Title", samples[name])
			body := rec.Body.String()
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, body)
			}
			if strings.Contains(body, "<script") || strings.Contains(body, "style=") || strings.Contains(body, "<style") || strings.Contains(body, " on") && regexp.MustCompile(` on[a-z]+=`).MatchString(body) {
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

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
	"login":     struct{ Action, CSRF, Username, Error, ClientName string }{"/login?flow=x", "tok", "alice", "Incorrect username or password.", "App"},
	"consent":   nil, // filled in the test (needs a slice of structs)
	"account":   nil,
	"error":     ErrorData{Heading: "Bad", Message: "Go back.", Code: "invalid_request"},
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
	}{"/consent?flow=x", "tok", "alice", "App", "https://example.com/logo.png", "https://example.com", "https://example.com/p", "https://example.com/t",
		[]scope{{"openid", "Know who you are", "x"}}}
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

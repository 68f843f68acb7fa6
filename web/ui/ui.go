package ui

import (
	"bytes"
	"crypto/rand"
	"embed"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// StylesheetPath is where the stylesheet is served.
const StylesheetPath = "/static/sesame.css"

// CSP is the Content-Security-Policy of every page. Scripts only from our
// own origin and never inline (/static/passkeys.js for WebAuthn, which
// needs navigator.credentials and fetch to our own origin: connect-src
// 'self'; /static/formpost.js submits the form_post page); styles from
// our own origin only; images from anywhere https (client logos) and
// data: (the TOTP QR code). There is deliberately no form-action: Chrome
// applies it to the redirects that follow a form POST, and the consent
// form ends at the client's redirect URI. The form_post page alone adds
// one (FormPost).
const CSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' https: data:; base-uri 'none'; frame-ancestors 'none'"

// When formats a time for people wherever they are: relative ("3 hours
// ago") with the exact time in UTC, the offset named ("2 Jan 2026 15:04
// UTC+00:00"). The server cannot know the browser's zone without script.
func When(t, now time.Time) string { return current().when(DefaultLanguage, t, now) }

// Page is the data every template receives.
type Page struct {
	Title string
	// Data is the page-specific value.
	Data any
}

// Render writes page with status. Security headers are set here so no
// page can forget them.
// The language is the one Negotiate put in Content-Language (English if
// none); title and Go-supplied texts are translated when the catalogue
// has them.
func Render(w http.ResponseWriter, status int, page, title string, data any) {
	render(w, status, page, title, data, CSP)
}

// render is Render with the page's Content-Security-Policy.
func render(w http.ResponseWriter, status int, page, title string, data any, csp string) {
	theme := current()
	lang := w.Header().Get("Content-Language")
	pages, ok := theme.pages[lang]
	if !ok {
		lang, pages = DefaultLanguage, theme.pages[DefaultLanguage]
		w.Header().Set("Content-Language", lang)
	}
	t, ok := pages[page]
	if !ok {
		panic(fmt.Sprintf("ui: unknown page %q", page))
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, Page{Title: title, Data: data}); err != nil {
		// Templates are fixed at build time and tested; an error here is a
		// bug, not user input.
		slog.Error("ui: render", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	SetHeaders(w)
	w.Header().Set("Content-Security-Policy", csp)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// SetHeaders sets the security headers of an HTML response (also used on
// redirects out of form posts).
func SetHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

// ErrorData is the data of the error page.
type ErrorData struct {
	Heading string // what happened, in plain words
	Message string // what to do now
	// Ref identifies this occurrence: the page shows it, the caller logs
	// it beside the protocol detail, so support can find one from the
	// other.
	Ref string
}

// Error renders the error page for people: heading says what happened,
// message what to do; both must be plain language and safe to show (no
// protocol or internal detail). code (e.g. invalid_client) is not shown:
// it belongs in the caller's log line with the returned reference id
// (the parameter stays so each call site names its code).
func Error(w http.ResponseWriter, status int, heading, message, _ string) (ref string) {
	ref = NewRef()
	Render(w, status, "error", heading, ErrorData{Heading: heading, Message: message, Ref: ref})
	return ref
}

// NewRef returns a short random reference id for an error page ("7F3K-Q2MD"):
// easy to read out on the phone, unguessable enough to be no handle on
// anything (it only appears in logs).
func NewRef() string {
	const alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ" // no 0/O, 1/I
	var b [8]byte
	_, _ = rand.Read(b[:])
	out := make([]byte, 0, 9)
	for i, c := range b {
		if i == 4 {
			out = append(out, '-')
		}
		out = append(out, alphabet[int(c)%len(alphabet)])
	}
	return string(out)
}

// NotFound answers an unknown path: a page for a person's browser
// (Accept prefers text/html), the JSON error for API clients.
func NotFound(w http.ResponseWriter, r *http.Request) {
	if WantsHTML(r) {
		Render(w, http.StatusNotFound, "notfound", "Page not found", nil)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte(`{"error":"not_found","error_description":"no such endpoint"}`))
}

// WantsHTML reports whether the client prefers an HTML page (a browser)
// to JSON (an API client): Accept names text/html before any JSON type.
func WantsHTML(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	h := strings.Index(accept, "text/html")
	if h < 0 {
		return false
	}
	j := strings.Index(accept, "json")
	return j < 0 || h < j
}

// SignedOut renders the "you are signed out" page.
func SignedOut(w http.ResponseWriter) {
	Render(w, http.StatusOK, "signedout", "Signed out", nil)
}

// LogoPath is where a theme's logo is served.
const LogoPath = "/static/logo"

// PasskeyScriptPath is the one script of the pages: the WebAuthn
// ceremonies (static, embedded, same for every theme).
const PasskeyScriptPath = "/static/passkeys.js"

var passkeyScript = mustStatic("static/passkeys.js")

// mustStatic reads an embedded file at start-up (a missing one is a build
// mistake).
func mustStatic(name string) []byte {
	b, err := staticFS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return b
}

// Static serves the theme's stylesheet and logo, and the passkey and
// form_post scripts, under /static/.
func Static() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := current()
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		switch {
		case r.URL.Path == StylesheetPath:
			w.Header().Set("Content-Type", "text/css; charset=utf-8")
			_, _ = w.Write(t.css)
		case r.URL.Path == LogoPath && t.logo != nil:
			w.Header().Set("Content-Type", t.logoType)
			_, _ = w.Write(t.logo)
		case r.URL.Path == PasskeyScriptPath:
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			_, _ = w.Write(passkeyScript)
		case r.URL.Path == FormPostScriptPath:
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			_, _ = w.Write(formPostScript)
		default:
			http.NotFound(w, r)
		}
	})
}

// Favicon serves the icon (an SVG, which every current browser accepts at
// /favicon.ico as well).
func Favicon() http.Handler {
	icon, err := staticFS.ReadFile("static/favicon.svg")
	if err != nil {
		panic(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(icon)
	})
}

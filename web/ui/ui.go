package ui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
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

// CSP is the Content-Security-Policy of every page. No script at all;
// styles from our own origin only; images from anywhere https (client
// logos). There is deliberately no form-action: Chrome applies it to the
// redirects that follow a form POST, and the consent form ends at the
// client's redirect URI.
const CSP = "default-src 'none'; style-src 'self'; img-src 'self' https: data:; base-uri 'none'; frame-ancestors 'none'"

var pages = map[string]*template.Template{}

var funcs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2 Jan 2006 15:04 UTC")
	},
	"join": strings.Join,
}

func init() {
	entries, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		name := strings.TrimSuffix(strings.TrimPrefix(e, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		pages[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", e))
	}
}

// Page is the data every template receives.
type Page struct {
	Title string
	// Data is the page-specific value.
	Data any
}

// Render writes page with status. Security headers are set here so no
// page can forget them.
func Render(w http.ResponseWriter, status int, page, title string, data any) {
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
	Heading string
	Message string
	// Code is a machine-readable error code shown small (e.g.
	// invalid_client), empty for none.
	Code string
}

// Error renders the error page. message must be safe to show the user (no
// internal detail).
func Error(w http.ResponseWriter, status int, heading, message, code string) {
	Render(w, status, "error", heading, ErrorData{Heading: heading, Message: message, Code: code})
}

// SignedOut renders the "you are signed out" page.
func SignedOut(w http.ResponseWriter) {
	Render(w, http.StatusOK, "signedout", "Signed out", nil)
}

// Static serves the embedded stylesheet (and anything else under static/).
func Static() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	fsrv := http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fsrv.ServeHTTP(w, r)
	})
}

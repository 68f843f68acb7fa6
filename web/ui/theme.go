package ui

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/text/language"
)

//go:embed messages/*.json
var messageFS embed.FS

// DefaultLanguage is used when nothing the browser asks for is available.
const DefaultLanguage = "en"

// Theme is the look and words of the pages: templates, stylesheet, logo and
// message catalogues. The built-in theme is the default; SESAME_THEME_DIR
// overrides any part of it without forking:
//
//	templates/<page>.html   a page (or layout.html) replacing the built-in one
//	static/sesame.css       the stylesheet
//	static/logo.svg|.png    a logo shown in the page header
//	messages/<lang>.json    texts replacing built-in ones ("brand" is the
//	                        product name), or a whole new language
type Theme struct {
	pages    map[string]map[string]*template.Template // language → page → template
	messages map[string]map[string]string             // language → key → text
	matcher  language.Matcher
	langs    []string // supported, DefaultLanguage first
	css      []byte
	logo     []byte
	logoType string
}

var active atomic.Pointer[Theme]

func init() {
	t, err := LoadTheme("")
	if err != nil {
		panic(err) // the built-in theme is fixed at build time and tested
	}
	active.Store(t)
}

// Use makes t the theme of every page from now on (the server calls it
// once at start-up with the theme from SESAME_THEME_DIR).
func Use(t *Theme) { active.Store(t) }

func current() *Theme { return active.Load() }

// LoadTheme builds the built-in theme with the overrides found in dir
// ("" for none). A template that does not parse, a catalogue that is not
// a JSON object of strings, or a file that cannot be read is an error.
func LoadTheme(dir string) (*Theme, error) {
	t := &Theme{messages: map[string]map[string]string{}}
	if err := t.loadMessages(messageFS, "messages"); err != nil {
		return nil, err
	}
	css, err := staticFS.ReadFile("static/sesame.css")
	if err != nil {
		return nil, err
	}
	t.css = css
	var override fs.FS
	if dir != "" {
		st, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("theme: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("theme: %s is not a directory", dir)
		}
		override = os.DirFS(dir)
		if err := t.loadMessages(override, "messages"); err != nil {
			return nil, err
		}
		if b, err := fs.ReadFile(override, "static/sesame.css"); err == nil {
			t.css = b
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("theme: %w", err)
		}
		for name, typ := range map[string]string{"static/logo.svg": "image/svg+xml", "static/logo.png": "image/png"} {
			if b, err := fs.ReadFile(override, name); err == nil {
				t.logo, t.logoType = b, typ
			} else if !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("theme: %w", err)
			}
		}
	}
	if _, ok := t.messages[DefaultLanguage]; !ok {
		return nil, errors.New("theme: no messages/en.json")
	}
	t.langs = []string{DefaultLanguage}
	for l := range t.messages {
		if l != DefaultLanguage {
			t.langs = append(t.langs, l)
		}
	}
	sort.Strings(t.langs[1:])
	tags := make([]language.Tag, len(t.langs))
	for i, l := range t.langs {
		tags[i] = language.Make(l)
	}
	t.matcher = language.NewMatcher(tags)
	return t, t.parsePages(override)
}

func (t *Theme) loadMessages(fsys fs.FS, dir string) error {
	files, err := fs.Glob(fsys, dir+"/*.json")
	if err != nil {
		return err
	}
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return fmt.Errorf("theme: %w", err)
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("theme: %s: %w", f, err)
		}
		lang := strings.TrimSuffix(filepath.Base(f), ".json")
		if _, err := language.Parse(lang); err != nil {
			return fmt.Errorf("theme: %s: not a language tag", f)
		}
		if t.messages[lang] == nil {
			t.messages[lang] = map[string]string{}
		}
		for k, v := range m {
			t.messages[lang][k] = v
		}
	}
	return nil
}

// parsePages parses every page once per language, so a page's texts are
// bound when it is parsed and rendering stays a plain Execute.
func (t *Theme) parsePages(override fs.FS) error {
	read := func(name string) (string, error) {
		if override != nil {
			if b, err := fs.ReadFile(override, "templates/"+name); err == nil {
				return string(b), nil
			} else if !errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("theme: %w", err)
			}
		}
		b, err := templateFS.ReadFile("templates/" + name)
		return string(b), err
	}
	layout, err := read("layout.html")
	if err != nil {
		return err
	}
	entries, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	t.pages = map[string]map[string]*template.Template{}
	for _, lang := range t.langs {
		t.pages[lang] = map[string]*template.Template{}
		funcs := t.funcs(lang)
		for _, e := range entries {
			name := strings.TrimSuffix(filepath.Base(e), ".html")
			if name == "layout" {
				continue
			}
			body, err := read(name + ".html")
			if err != nil {
				return err
			}
			tpl, err := template.New("layout.html").Funcs(funcs).Parse(layout)
			if err == nil {
				_, err = tpl.New(name + ".html").Parse(body)
			}
			if err != nil {
				return fmt.Errorf("theme: template %s: %w", name, err)
			}
			t.pages[lang][name] = tpl
		}
	}
	return nil
}

// text looks key up in lang, then in English; a key found nowhere is shown
// as it is (callers may pass plain English text, which then serves as the
// key of its translations).
func (t *Theme) text(lang, key string) string {
	if v, ok := t.messages[lang][key]; ok {
		return v
	}
	if v, ok := t.messages[DefaultLanguage][key]; ok {
		return v
	}
	return key
}

func (t *Theme) funcs(lang string) template.FuncMap {
	tr := func(key string, args ...any) string {
		s := t.text(lang, key)
		if len(args) > 0 {
			return fmt.Sprintf(s, args...)
		}
		return s
	}
	return template.FuncMap{
		"t":       tr,
		"lang":    func() string { return lang },
		"hasLogo": func() bool { return t.logo != nil },
		"date":    func(at time.Time) string { return t.when(lang, at, time.Now()) },
		"join":    strings.Join,
		"tjoin": func(items []string, sep string) string {
			out := make([]string, len(items))
			for i, s := range items {
				out[i] = tr(s)
			}
			return strings.Join(out, sep)
		},
	}
}

// Language picks the page language for a request: OpenID Connect's
// ui_locales (on the authorization request, remembered in a cookie for
// the login and consent pages that follow), then Accept-Language, then
// English.
func Language(r *http.Request) string {
	t := current()
	var wanted []language.Tag
	add := func(list string) {
		for _, f := range strings.Fields(list) {
			if len(f) > 35 || len(wanted) > 10 { // a stranger's input: bounded
				return
			}
			if tag, err := language.Parse(f); err == nil {
				wanted = append(wanted, tag)
			}
		}
	}
	add(r.URL.Query().Get("ui_locales"))
	if c, err := r.Cookie(localeCookie); err == nil {
		add(c.Value)
	}
	if al := r.Header.Get("Accept-Language"); len(al) <= 512 {
		if tags, _, err := language.ParseAcceptLanguage(al); err == nil {
			wanted = append(wanted, tags...)
		}
	}
	if len(wanted) == 0 {
		return DefaultLanguage
	}
	_, i, conf := t.matcher.Match(wanted...)
	if conf == language.No {
		return DefaultLanguage
	}
	return t.langs[i]
}

const localeCookie = "sesame_ui_locales"

// Negotiate records the page language of r on w (Content-Language, which
// Render reads) and remembers ui_locales for the pages of the same sign-in.
// Call it before any handler that may render a page.
func Negotiate(w http.ResponseWriter, r *http.Request) {
	lang := Language(r)
	w.Header().Set("Content-Language", lang)
	if r.URL.Query().Get("ui_locales") != "" {
		http.SetCookie(w, &http.Cookie{Name: localeCookie, Value: lang, Path: "/", MaxAge: 3600,
			HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
}

// when is When in lang.
func (t *Theme) when(lang string, at, now time.Time) string {
	if at.IsZero() {
		return t.text(lang, "time.never")
	}
	abs := at.UTC().Format("2 Jan 2006 15:04 UTC")
	d := now.Sub(at)
	var rel string
	switch {
	case d < 0:
		return abs
	case d < time.Minute:
		rel = t.text(lang, "time.just_now")
	case d < 2*time.Minute:
		rel = t.text(lang, "time.minute")
	case d < time.Hour:
		rel = fmt.Sprintf(t.text(lang, "time.minutes"), int(d/time.Minute))
	case d < 2*time.Hour:
		rel = t.text(lang, "time.hour")
	case d < 48*time.Hour:
		rel = fmt.Sprintf(t.text(lang, "time.hours"), int(d/time.Hour))
	case d < 60*24*time.Hour:
		rel = fmt.Sprintf(t.text(lang, "time.days"), int(d/(24*time.Hour)))
	default:
		return abs
	}
	return rel + " (" + abs + ")"
}

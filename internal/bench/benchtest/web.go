package benchtest

import (
	"crypto/subtle"
	"html/template"
	"net/http"
	"net/url"
)

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html><body>
<form method="get" action="/search"><input type="text" name="q"></form>
<h1>Sign in</h1>{{if .Failed}}<p class="error">Wrong username or password.</p>{{end}}
<form method="post" action="/login?login_challenge={{.Challenge}}">
  <input type="hidden" name="csrf_token" value="{{.CSRF}}">
  <label>Username <input type="text" name="username" autocomplete="username"></label>
  <label>Password <input type="password" name="password"></label>
  <button type="submit">Sign in</button>
</form></body></html>`))

// The consent form posts to its own URL (empty action), as many do.
var consentPage = template.Must(template.New("consent").Parse(`<!doctype html>
<html><body><h1>Allow access?</h1>
<form method="post" action="">
  <input type="hidden" name="csrf_token" value="{{.CSRF}}">
  <label><input type="checkbox" name="remember" value="1"> Remember</label>
  <button type="submit" name="decision" value="deny">Deny</button>
  <button type="submit" name="decision" value="allow">Allow</button>
</form></body></html>`))

// authorize checks the request as a strict server would (PKCE S256 and a
// state are required) and sends the browser to the login page.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != ClientID || q.Get("redirect_uri") != RedirectURI || q.Get("response_type") != "code" ||
		q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("nonce") == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	challenge := random()
	s.mu.Lock()
	s.pending[challenge] = q
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "authz", Value: challenge, Path: "/", HttpOnly: true})
	if s.loggedIn(r) {
		// Single sign-on: an existing session skips the login page.
		http.Redirect(w, r, "/consent", http.StatusFound)
		return
	}
	http.Redirect(w, r, "/login?login_challenge="+challenge, http.StatusFound)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	challenge := r.URL.Query().Get("login_challenge")
	s.mu.Lock()
	_, ok := s.pending[challenge]
	s.mu.Unlock()
	if !ok {
		http.Error(w, "unknown login challenge", http.StatusBadRequest)
		return
	}
	failed := false
	if r.Method == http.MethodPost {
		if !csrfValid(r) {
			http.Error(w, "csrf", http.StatusForbidden)
			return
		}
		if r.PostForm.Get("username") == Username && r.PostForm.Get("password") == Password {
			sid := random()
			s.mu.Lock()
			s.sessions[sid] = true
			s.mu.Unlock()
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: sid, Path: "/", HttpOnly: true})
			http.Redirect(w, r, "/consent", http.StatusSeeOther)
			return
		}
		failed = true
	}
	csrf := setCSRF(w)
	_ = loginPage.Execute(w, map[string]any{"Challenge": challenge, "CSRF": csrf, "Failed": failed})
}

func (s *Server) consent(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie("authz")
	if err != nil || !s.loggedIn(r) {
		http.Error(w, "no session", http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	q, ok := s.pending[c.Value]
	s.mu.Unlock()
	if !ok {
		http.Error(w, "no pending authorization", http.StatusBadRequest)
		return
	}
	if r.Method != http.MethodPost {
		_ = consentPage.Execute(w, map[string]any{"CSRF": setCSRF(w)})
		return
	}
	if !csrfValid(r) {
		http.Error(w, "csrf", http.StatusForbidden)
		return
	}
	s.mu.Lock()
	delete(s.pending, c.Value)
	s.mu.Unlock()
	back := url.Values{"state": {q.Get("state")}, "iss": {s.Issuer}}
	if r.PostForm.Get("decision") != "allow" {
		back.Set("error", "access_denied")
	} else {
		code := random()
		s.mu.Lock()
		s.codes[code] = codeGrant{challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
		s.mu.Unlock()
		back.Set("code", code)
	}
	http.Redirect(w, r, RedirectURI+"?"+back.Encode(), http.StatusFound)
}

func (s *Server) loggedIn(r *http.Request) bool {
	c, err := r.Cookie("sid")
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[c.Value]
}

// setCSRF issues the double-submit token: a cookie and the same value in
// the form's hidden csrf_token input.
func setCSRF(w http.ResponseWriter) string {
	token := random()
	http.SetCookie(w, &http.Cookie{Name: "csrf", Value: token, Path: "/", HttpOnly: true})
	return token
}

func csrfValid(r *http.Request) bool {
	c, err := r.Cookie("csrf")
	if err != nil || r.ParseForm() != nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostForm.Get("csrf_token"))) == 1 && c.Value != ""
}

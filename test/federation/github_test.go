package federation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/sesameauth/sesame/internal/config"
	"github.com/sesameauth/sesame/storage"
)

// github is a small server that behaves like GitHub's OAuth app flow and
// REST API: /login/oauth/authorize approves at once as the user the test
// chose, /login/oauth/access_token answers errors with 200 (as GitHub
// does), /user has no verified-email information and /user/emails does.
type github struct {
	srv      *httptest.Server
	clientID string
	secret   string

	mu     sync.Mutex
	as     string                // the login that approves the next authorization
	codes  map[string][2]string  // code → (login, code_challenge)
	tokens map[string]string     // access token → login
	users  map[string]githubUser // login → account
}

type githubUser struct {
	ID     int64
	Name   string
	Emails []githubEmail
}

type githubEmail struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

func newGitHub(t *testing.T) *github {
	g := &github{clientID: "Iv1.testclient", secret: "gh-client-secret", codes: map[string][2]string{},
		tokens: map[string]string{}, users: map[string]githubUser{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != g.clientID || q.Get("code_challenge_method") != "S256" {
			http.Error(w, "bad authorize request", http.StatusBadRequest)
			return
		}
		g.mu.Lock()
		code := "code-" + random(t)
		g.codes[code] = [2]string{g.as, q.Get("code_challenge")}
		g.mu.Unlock()
		to, _ := url.Parse(q.Get("redirect_uri"))
		v := url.Values{"code": {code}, "state": {q.Get("state")}}
		to.RawQuery = v.Encode()
		http.Redirect(w, r, to.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		id, sec, _ := r.BasicAuth()
		id, _ = url.QueryUnescape(id)
		sec, _ = url.QueryUnescape(sec)
		w.Header().Set("Content-Type", "application/json")
		g.mu.Lock()
		defer g.mu.Unlock()
		c, ok := g.codes[r.PostFormValue("code")]
		delete(g.codes, r.PostFormValue("code"))
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		switch {
		case id != g.clientID || sec != g.secret:
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "incorrect_client_credentials"})
		case !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != c[1]:
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "bad_verification_code"})
		default:
			tok := "gho_" + random(t)
			g.tokens[tok] = c[0]
			_ = json.NewEncoder(w).Encode(map[string]string{"access_token": tok, "token_type": "bearer", "scope": "read:user,user:email"})
		}
	})
	user := func(r *http.Request) (string, githubUser, bool) {
		g.mu.Lock()
		defer g.mu.Unlock()
		login, ok := g.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		return login, g.users[login], ok
	}
	mux.HandleFunc("GET /user", func(w http.ResponseWriter, r *http.Request) {
		login, u, ok := user(r)
		if !ok {
			http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"login": login, "id": u.ID, "name": u.Name, "email": nil})
	})
	mux.HandleFunc("GET /user/emails", func(w http.ResponseWriter, r *http.Request) {
		_, u, ok := user(r)
		if !ok {
			http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(u.Emails)
	})
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

func (g *github) add(login string, id int64, emails ...githubEmail) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.users[login] = githubUser{ID: id, Name: "GH " + login, Emails: emails}
}

func (g *github) approveAs(login string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.as = login
}

func (g *github) upstream(id string) config.Upstream {
	return config.Upstream{ID: id, Name: "GitHub", Type: "oauth2", ClientID: g.clientID, ClientSecret: g.secret,
		AuthorizeURL: g.srv.URL + "/login/oauth/authorize", TokenURL: g.srv.URL + "/login/oauth/access_token",
		UserinfoURL: g.srv.URL + "/user", EmailsURL: g.srv.URL + "/user/emails", Scopes: []string{"read:user", "user:email"},
		Claims: map[string]string{"subject": "id", "username": "login"}}
}

var unlinkFormRE = regexp.MustCompile(`(?s)<form method="post" action="/account/identities/unlink">.*?name="upstream" value="([^"]+)".*?name="subject" value="([^"]+)"`)

func TestOAuth2UpstreamBehavesLikeGitHub(t *testing.T) {
	t.Parallel() // each test has its own servers
	gh := newGitHub(t)
	gh.add("octocat", 583231, githubEmail{"octocat@users.noreply.github.test", false, true}, githubEmail{"octocat@github.test", true, true})
	gh.add("carol-gh", 2, githubEmail{"carol@example.com", true, true})
	gh.add("dave-gh", 3, githubEmail{"dave@example.com", true, false}) // primary, not verified
	gh.add("erin-gh", 4, githubEmail{"erin@elsewhere.test", true, true})

	cfg := baseConfig(t)
	github := gh.upstream("github")
	github.LinkExistingByVerifiedEmail = true
	corpOnly := gh.upstream("github-corp")
	corpOnly.Name = "GitHub (corp)"
	corpOnly.AllowedEmailDomains = []string{"corp.test"}
	cfg.Upstreams = []config.Upstream{github, corpOnly}
	d := start(t, listen(t), cfg)
	rp := newRP(d)
	ctx := context.Background()
	carol := d.user("carol", "carol-local-password", "carol@example.com")
	dave := d.user("dave", "dave-local-password", "dave@example.com")
	d.user("erin", "erin-local-password", "erin@example.com")

	signIn := func(t *testing.T, b *browser, upstreamID, as string) (resp, authz) {
		t.Helper()
		gh.approveAs(as)
		start, z := rp.authorizeURL(t, d, url.Values{"idp_hint": {upstreamID}})
		return b.follow(b.get(start), rp.isRedirect), z
	}
	subOf := func(t *testing.T, r resp, z authz) string {
		t.Helper()
		u := r.location(t)
		if !rp.isRedirect(u) {
			t.Fatalf("ended at %s", u)
		}
		s, _ := rp.exchange(t, d, u.Query().Get("code"), z)["sub"].(string)
		return s
	}

	t.Run("first sign-in creates the user with the primary verified email", func(t *testing.T) {
		r, z := signIn(t, newBrowser(t), "github", "octocat")
		sub := subOf(t, r, z)
		u, err := d.s.Store.GetUser(ctx, sub)
		if err != nil {
			t.Fatal(err)
		}
		if u.Username != "octocat" || u.Email != "octocat@github.test" || !u.EmailVerified || u.Name != "GH octocat" {
			t.Errorf("user = %+v", u)
		}
		if _, err := d.s.Store.GetIdentity(ctx, "github", "583231"); err != nil {
			t.Errorf("identity github/583231: %v", err)
		}
	})

	t.Run("an existing account is linked by an email verified on both sides", func(t *testing.T) {
		r, z := signIn(t, newBrowser(t), "github", "carol-gh")
		if sub := subOf(t, r, z); sub != carol.ID {
			t.Errorf("sub = %s, want the existing carol %s", sub, carol.ID)
		}
	})

	t.Run("an unverified email links nothing: a new user", func(t *testing.T) {
		r, z := signIn(t, newBrowser(t), "github", "dave-gh")
		sub := subOf(t, r, z)
		if sub == dave.ID {
			t.Fatal("an unverified email took over the local dave")
		}
		u, _ := d.s.Store.GetUser(ctx, sub)
		if u.EmailVerified || u.Email != "" {
			t.Errorf("new user %+v: an unverified address must not become a verified email", u)
		}
	})

	t.Run("allowed_email_domains refuses other domains", func(t *testing.T) {
		r, _ := signIn(t, newBrowser(t), "github-corp", "octocat")
		wantPage(t, r, http.StatusForbidden, "not in a domain this service accepts")
	})

	t.Run("account page links and unlinks a provider", func(t *testing.T) {
		b := newBrowser(t)
		page := b.follow(b.get(d.issuer+"/account"), nil)
		r := b.follow(b.submitLogin(page, "erin", "erin-local-password"), nil)
		wantPage(t, r, http.StatusOK, "Link GitHub")
		gh.approveAs("erin-gh")
		r = b.follow(b.get(d.issuer+"/login/upstream/github?link=1"), nil)
		wantPage(t, r, http.StatusOK, "Sign-in provider linked.")
		m := unlinkFormRE.FindSubmatch(r.body)
		if m == nil || string(m[1]) != "github" || string(m[2]) != "4" {
			t.Fatalf("account page does not list the GitHub identity:\n%s", r.body)
		}
		// Signing in with GitHub now reaches erin.
		r2, z := signIn(t, newBrowser(t), "github", "erin-gh")
		erin, _ := d.s.Store.GetUserByUsername(ctx, "erin")
		if sub := subOf(t, r2, z); sub != erin.ID {
			t.Errorf("GitHub sign-in reached %s, want erin %s", sub, erin.ID)
		}
		csrf := csrfRE.FindSubmatch(r.body)
		r = b.follow(b.post(d.issuer+"/account/identities/unlink", url.Values{"csrf_token": {string(csrf[1])},
			"upstream": {"github"}, "subject": {"4"}}), nil)
		wantPage(t, r, http.StatusOK, "Sign-in provider removed.")
		if _, err := d.s.Store.GetIdentity(ctx, "github", "4"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("identity still there: %v", err)
		}
	})

	t.Run("the only sign-in method cannot be unlinked", func(t *testing.T) {
		b := newBrowser(t)
		gh.approveAs("octocat")
		r := b.follow(b.get(d.issuer+"/login/upstream/github"), nil) // no flow: to /account
		wantPage(t, r, http.StatusOK, "GitHub")
		csrf := csrfRE.FindSubmatch(r.body)
		r = b.post(d.issuer+"/account/identities/unlink", url.Values{"csrf_token": {string(csrf[1])},
			"upstream": {"github"}, "subject": {"583231"}})
		wantPage(t, r, http.StatusConflict, "only way to sign in")
		if _, err := d.s.Store.GetIdentity(ctx, "github", "583231"); err != nil {
			t.Errorf("the last identity was removed: %v", err)
		}
		// Someone else's identity is not theirs to unlink.
		r = b.post(d.issuer+"/account/identities/unlink", url.Values{"csrf_token": {string(csrf[1])},
			"upstream": {"github"}, "subject": {"2"}})
		wantPage(t, r, http.StatusNotFound, "not linked to your account")
	})

	t.Run("a code the provider refuses gives a clear page", func(t *testing.T) {
		b := newBrowser(t)
		gh.approveAs("octocat")
		start, _ := rp.authorizeURL(t, d, url.Values{"idp_hint": {"github"}})
		isCallback := func(u *url.URL) bool { return strings.HasSuffix(u.Path, "/callback") }
		r := b.follow(b.get(start), isCallback)
		cb := r.location(t)
		q := cb.Query()
		q.Set("code", "forged-code")
		cb.RawQuery = q.Encode()
		r = b.get(cb.String())
		wantPage(t, r, http.StatusBadRequest, "did not work")
		if !bytes.Contains([]byte(d.logs.String()), []byte("bad_verification_code")) {
			t.Error("the provider's error is not in the log")
		}
	})
}

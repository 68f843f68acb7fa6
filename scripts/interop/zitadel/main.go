// Command zitadel is the zitadel/oidc interop check of scripts/interop.sh
// (its own module, so the server's go.mod does not carry zitadel/oidc):
// discovery, the code flow with PKCE through zitadel's relying party,
// and rp.EndSession, which POSTs the RP-initiated logout request
// (issue 13 item 15).
//
// usage: go run . (env: ISSUER, CLIENT_ID, CLIENT_SECRET, USERNAME, PASSWORD)
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/oidc"
)

const (
	redirectURI = "http://127.0.0.1:9/zcb"
	logoutURI   = "http://127.0.0.1:9/zbye"
)

var (
	issuer   = os.Getenv("ISSUER")
	failed   = false
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	csrfRE   = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
)

func check(name string, fn func() error) {
	if err := fn(); err != nil {
		failed = true
		fmt.Printf("FAIL zitadel/oidc: %s: %v\n", name, err)
		return
	}
	fmt.Printf("PASS zitadel/oidc: %s\n", name)
}

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	jar, _ := cookiejar.New(nil)
	// The browser and the RP share cookies, so EndSession ends the
	// browser's session as a real RP's redirect would.
	hc := &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	var party rp.RelyingParty
	check("discovery", func() (err error) {
		party, err = rp.NewRelyingPartyOIDC(ctx, issuer, os.Getenv("CLIENT_ID"), os.Getenv("CLIENT_SECRET"), redirectURI,
			[]string{"openid"}, rp.WithHTTPClient(hc), rp.WithSigningAlgsFromDiscovery())
		return err
	})
	if party == nil {
		os.Exit(1)
	}

	var idToken string
	check("authorization code + PKCE", func() error {
		verifier := random()
		state := random()
		code, err := signIn(hc, rp.AuthURL(state, party, rp.WithCodeChallenge(oidc.NewSHACodeChallenge(verifier))), state)
		if err != nil {
			return err
		}
		tokens, err := rp.CodeExchange[*oidc.IDTokenClaims](ctx, code, party, rp.WithCodeVerifier(verifier))
		if err != nil {
			return err
		}
		if tokens.IDToken == "" || tokens.IDTokenClaims.GetSubject() == "" {
			return errors.New("no verified ID token")
		}
		idToken = tokens.IDToken
		return nil
	})

	check("RP-initiated logout by POST (rp.EndSession)", func() error {
		if idToken == "" {
			return errors.New("no ID token from the code flow")
		}
		u, err := rp.EndSession(ctx, party, idToken, logoutURI, "zbye-state", "", nil)
		if err != nil {
			return err
		}
		if u == nil || u.Scheme+"://"+u.Host+u.Path != logoutURI || u.Query().Get("state") != "zbye-state" {
			return fmt.Errorf("redirected to %v, want %s with state", u, logoutURI)
		}
		// The browser session is gone: authorize asks for a login again.
		res, err := hc.Get(rp.AuthURL(random(), party, rp.WithCodeChallenge(oidc.NewSHACodeChallenge(random()))))
		if err != nil {
			return err
		}
		res.Body.Close()
		if loc, _ := res.Location(); loc == nil || loc.Path != "/login" {
			return fmt.Errorf("after logout authorize went to %v, want /login", loc)
		}
		return nil
	})
	if failed {
		os.Exit(1)
	}
}

func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// signIn drives the login page like a browser and returns the code.
func signIn(hc *http.Client, authURL, state string) (string, error) {
	res, err := hc.Get(authURL)
	if err != nil {
		return "", err
	}
	for i := 0; i < 10; i++ {
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		loc, _ := res.Location()
		if loc != nil && !strings.HasPrefix(loc.String(), issuer+"/") {
			if loc.Query().Get("state") != state {
				return "", fmt.Errorf("state %q in %s", loc.Query().Get("state"), loc)
			}
			return loc.Query().Get("code"), nil
		}
		if loc != nil {
			res, err = hc.Get(loc.String())
		} else {
			a, c := actionRE.FindSubmatch(body), csrfRE.FindSubmatch(body)
			if a == nil || c == nil {
				return "", fmt.Errorf("no login form (status %d)", res.StatusCode)
			}
			action, _ := url.Parse(strings.ReplaceAll(string(a[1]), "&amp;", "&"))
			req, _ := http.NewRequest(http.MethodPost, res.Request.URL.ResolveReference(action).String(),
				strings.NewReader(url.Values{"username": {os.Getenv("USERNAME")}, "password": {os.Getenv("PASSWORD")},
					"csrf_token": {string(c[1])}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", issuer)
			res, err = hc.Do(req)
		}
		if err != nil {
			return "", err
		}
	}
	return "", errors.New("too many redirects")
}

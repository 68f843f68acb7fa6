package upstream

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// oauth2Defaults fit GitHub's /user (id, login, email, name); other
// providers map their own names with `claims:`.
var oauth2Defaults = map[string]string{
	"subject": "id", "username": "login", "email": "email",
	"email_verified": "email_verified", "name": "name", "groups": "groups",
}

// oauth2Upstream is a GitHub-style provider: no ID token, an access
// token that reads a user-info document. Nothing in that document is
// signed; what vouches for it is TLS to the configured URL and the
// access token the token endpoint gave us for this code.
type oauth2Upstream struct {
	cfg Config
	o   Options
}

func newOAuth2(cfg Config, o Options) *oauth2Upstream { return &oauth2Upstream{cfg: cfg, o: o} }

func (u *oauth2Upstream) ID() string   { return u.cfg.ID }
func (u *oauth2Upstream) Name() string { return u.cfg.Name }
func (u *oauth2Upstream) Type() string { return "oauth2" }

func (u *oauth2Upstream) AuthURL(_ context.Context, a Attempt) (string, error) {
	return authCodeURL(u.cfg.AuthorizeURL, u.cfg.ClientID, a, u.cfg.Scopes, false)
}

func (u *oauth2Upstream) Finish(ctx context.Context, a Attempt, q url.Values) (Identity, error) {
	code := q.Get("code")
	if code == "" {
		return Identity{}, fmt.Errorf("%w: callback without code", ErrRefused)
	}
	tr, err := redeem(ctx, u.o.HTTPClient, u.cfg.TokenURL, u.cfg, a, code, false)
	if err != nil {
		return Identity{}, err
	}
	if tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "bearer") {
		return Identity{}, fmt.Errorf("%w: token type %q", ErrRefused, tr.TokenType)
	}
	var info map[string]any
	if err := getJSON(ctx, u.o.HTTPClient, u.cfg.UserinfoURL, tr.AccessToken, &info); err != nil {
		return Identity{}, fmt.Errorf("user info: %w", err)
	}
	id, err := mapClaims(info, u.cfg.Claims, oauth2Defaults)
	if err != nil {
		return Identity{}, err
	}
	// /user's email is what the person chose to show, and says nothing
	// about verification; /user/emails says which address is primary and
	// verified (GitHub's documented way). Without an emails URL the email
	// is kept unverified, unless the claim map names a verified claim.
	if u.cfg.EmailsURL != "" {
		var emails []struct {
			Email    string `json:"email"`
			Primary  bool   `json:"primary"`
			Verified bool   `json:"verified"`
		}
		if err := getJSON(ctx, u.o.HTTPClient, u.cfg.EmailsURL, tr.AccessToken, &emails); err != nil {
			return Identity{}, fmt.Errorf("user emails: %w", err)
		}
		id.Email, id.EmailVerified = "", false
		for _, e := range emails {
			if e.Primary && e.Verified {
				id.Email, id.EmailVerified = e.Email, true
				break
			}
		}
		return id.bounded()
	}
	return id, nil
}

// Check probes the authorize URL (a GitHub-style provider publishes no
// discovery or JWKS): any answer below 500 means it is there.
func (u *oauth2Upstream) Check(ctx context.Context) []Probe {
	p := Probe{What: "authorize", URL: u.cfg.AuthorizeURL}
	req, err := newGet(ctx, u.cfg.AuthorizeURL)
	if err == nil {
		res, derr := u.o.HTTPClient.Do(req)
		if derr == nil {
			res.Body.Close()
			if res.StatusCode < 500 {
				p.OK = true
			} else {
				err = fmt.Errorf("status %d", res.StatusCode)
			}
		} else {
			err = derr
		}
	}
	if err != nil {
		p.Error = err.Error()
	}
	return []Probe{p}
}

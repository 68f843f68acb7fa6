package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/config"
	"github.com/sesameauth/sesame/internal/upstream"
	"github.com/sesameauth/sesame/web"
)

// upstreamHTTPTimeout bounds one request to an upstream (discovery, JWKS,
// token, userinfo): a slow provider must not hold a sign-in for long.
const upstreamHTTPTimeout = 10 * time.Second

// buildUpstreams turns `upstreams:` into providers. Nothing is fetched
// here: an upstream that is down at start-up must not stop Sesame.
func buildUpstreams(cfgs []config.Upstream, hc *http.Client, logger *slog.Logger, now func() time.Time) ([]web.Upstream, error) {
	if hc == nil {
		hc = &http.Client{Timeout: upstreamHTTPTimeout}
	}
	out := make([]web.Upstream, 0, len(cfgs))
	for _, c := range cfgs {
		p, err := upstream.New(upstream.Config{
			ID: c.ID, Name: c.Name, Type: c.Type,
			Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret, Scopes: c.Scopes,
			Claims: c.Claims, Userinfo: c.Userinfo,
			AuthorizeURL: c.AuthorizeURL, TokenURL: c.TokenURL, UserinfoURL: c.UserinfoURL, EmailsURL: c.EmailsURL,
			URL: c.URL, StartTLS: c.StartTLS, CAFile: c.CAFile, BindDN: c.BindDN, BindPassword: c.BindPassword,
			UserSearchBase: c.UserSearchBase, UserFilter: c.UserFilter,
			GroupSearchBase: c.GroupSearchBase, GroupFilter: c.GroupFilter,
		}, upstream.Options{HTTPClient: hc, Now: now, Logger: logger})
		if err != nil {
			return nil, fmt.Errorf("upstreams: %w", err)
		}
		out = append(out, web.Upstream{Provider: p, Policy: app.FederationPolicy{
			AllowedEmailDomains: c.AllowedEmailDomains, LinkExistingByVerifiedEmail: c.LinkExistingByVerifiedEmail,
		}})
	}
	return out, nil
}

// checkUpstreams probes every upstream at once (each within ctx).
func checkUpstreams(ctx context.Context, ups []web.Upstream) []app.UpstreamStatus {
	out := make([]app.UpstreamStatus, len(ups))
	var wg sync.WaitGroup
	for i, u := range ups {
		wg.Go(func() {
			p := u.Provider
			st := app.UpstreamStatus{ID: p.ID(), Name: p.Name(), Type: p.Type(), OK: true, Probes: []app.UpstreamProbe{}}
			for _, pr := range p.Check(ctx) {
				st.Probes = append(st.Probes, app.UpstreamProbe{What: pr.What, URL: pr.URL, OK: pr.OK, Error: pr.Error})
				st.OK = st.OK && pr.OK
			}
			out[i] = st
		})
	}
	wg.Wait()
	return out
}

// UpstreamStatuses builds the configured upstreams and probes each: what
// `sesame upstreams list` shows (the CLI reaches upstreams only through
// here). It needs no store.
func UpstreamStatuses(ctx context.Context, cfg config.Config, logger *slog.Logger) ([]app.UpstreamStatus, error) {
	ups, err := buildUpstreams(cfg.Upstreams, nil, logger, time.Now)
	if err != nil {
		return nil, err
	}
	return checkUpstreams(ctx, ups), nil
}

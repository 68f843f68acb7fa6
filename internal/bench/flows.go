package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// A flow is set up once per run; each worker then gets its own worker, so
// per-worker state (a refresh-token chain, a cookie jar) needs no lock.
type flow interface {
	newWorker(ctx context.Context, id int) (worker, error)
}

// A worker performs one measured iteration per call to do.
type worker interface {
	do(ctx context.Context) error
}

// A preparer is a worker with untimed work to do before an iteration, such
// as restarting a refresh-token chain that a failure broke.
type preparer interface {
	prepare(ctx context.Context) error
}

// env is what every flow shares: the configuration, one keep-alive
// transport and the discovered metadata.
type env struct {
	cfg    *Config
	rt     http.RoundTripper
	client *http.Client
	meta   *Metadata
}

func (e *env) auth() clientAuth {
	return clientAuth{id: e.cfg.ClientID, secret: e.cfg.ClientSecret, method: e.cfg.TokenAuth}
}

// stateless is a flow whose workers share one function.
type stateless func(ctx context.Context) error

func (f stateless) newWorker(context.Context, int) (worker, error) { return f, nil }
func (f stateless) do(ctx context.Context) error                   { return f(ctx) }

// newFlow resolves the endpoints a flow needs and performs its set-up
// (obtaining the token an introspect/userinfo/verify run reuses).
func newFlow(ctx context.Context, e *env) (flow, error) {
	cfg, m := e.cfg, e.meta
	switch cfg.Flow {
	case FlowHealth:
		return stateless(func(ctx context.Context) error { return health(ctx, e.client, cfg.HealthURL) }), nil
	case FlowClientCredentials, FlowPassword:
		tokenURL, err := m.endpoint("token_endpoint", m.TokenEndpoint)
		if err != nil {
			return nil, err
		}
		return stateless(func(ctx context.Context) error {
			_, err := requestToken(ctx, e.client, tokenURL, e.auth(), grantForm(cfg, cfg.Flow, cfg.Scope))
			return err
		}), nil
	case FlowRefresh:
		tokenURL, err := m.endpoint("token_endpoint", m.TokenEndpoint)
		if err != nil {
			return nil, err
		}
		return refreshFlow{e: e, tokenURL: tokenURL}, nil
	case FlowIntrospect:
		return newIntrospectFlow(ctx, e)
	case FlowJWKS:
		jwksURL, err := m.endpoint("jwks_uri", m.JWKSURI)
		if err != nil {
			return nil, err
		}
		return stateless(func(ctx context.Context) error { return fetchJWKS(ctx, e.client, jwksURL) }), nil
	case FlowUserinfo:
		return newUserinfoFlow(ctx, e)
	case FlowVerify:
		return newVerifyFlow(ctx, e)
	case FlowAuthorizationCode:
		return newAuthCodeFlow(e)
	}
	return nil, fmt.Errorf("unknown flow %q", cfg.Flow)
}

// grantForm builds a client_credentials or password token request.
func grantForm(cfg *Config, grant, scope string) url.Values {
	form := url.Values{"grant_type": {grant}}
	if grant == FlowPassword {
		form.Set("username", cfg.Username)
		form.Set("password", cfg.Password)
	}
	if scope != "" {
		form.Set("scope", scope)
	}
	if cfg.Audience != "" {
		form.Set("audience", cfg.Audience)
	}
	return form
}

// setupToken obtains the access token that introspect, userinfo and verify
// reuse: by the password grant when a user is given, else by
// client_credentials.
func setupToken(ctx context.Context, e *env, scope string) (string, error) {
	grant := FlowClientCredentials
	if e.cfg.Username != "" {
		grant = FlowPassword
	}
	tr, err := requestToken(ctx, e.client, e.meta.TokenEndpoint, e.auth(), grantForm(e.cfg, grant, scope))
	if err != nil {
		return "", fmt.Errorf("set-up: %s grant: %w", grant, err)
	}
	return tr.AccessToken, nil
}

func health(ctx context.Context, c *http.Client, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("request %s: %w", u, err)
	}
	resp, body, err := do(c, req)
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return statusError(resp, body)
	}
	return nil
}

func fetchJWKS(ctx context.Context, c *http.Client, u string) error {
	body, err := get(ctx, c, u, "")
	if err != nil {
		return err
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if json.Unmarshal(body, &set) != nil || len(set.Keys) == 0 {
		return flowError("jwks without keys")
	}
	return nil
}

// refreshFlow gives each worker its own chain: with rotation, using a
// refresh token invalidates it, so chains must never be shared.
type refreshFlow struct {
	e        *env
	tokenURL string
}

func (f refreshFlow) newWorker(ctx context.Context, _ int) (worker, error) {
	w := &refreshWorker{refreshFlow: f}
	if err := w.prepare(ctx); err != nil {
		return nil, fmt.Errorf("set-up: %w", err)
	}
	return w, nil
}

type refreshWorker struct {
	refreshFlow
	token string
}

// prepare starts a chain with the password grant and offline_access when
// the worker has none (at start, or after a failed refresh).
func (w *refreshWorker) prepare(ctx context.Context) error {
	if w.token != "" {
		return nil
	}
	cfg := w.e.cfg
	tr, err := requestToken(ctx, w.e.client, w.tokenURL, w.e.auth(), grantForm(cfg, FlowPassword, withScope(cfg.Scope, "offline_access")))
	if err != nil {
		return err
	}
	if tr.RefreshToken == "" {
		return flowError("password grant returned no refresh_token (is the refresh_token grant and offline_access allowed?)")
	}
	w.token = tr.RefreshToken
	return nil
}

func (w *refreshWorker) do(ctx context.Context) error {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {w.token}}
	tr, err := requestToken(ctx, w.e.client, w.tokenURL, w.e.auth(), form)
	if err != nil {
		// The chain's state is unknown now; start a new one next time.
		w.token = ""
		return err
	}
	if tr.RefreshToken != "" {
		w.token = tr.RefreshToken
	}
	return nil
}

func newIntrospectFlow(ctx context.Context, e *env) (flow, error) {
	u, err := e.meta.endpoint("introspection_endpoint", e.meta.IntrospectionEndpoint)
	if err != nil {
		return nil, err
	}
	token, err := setupToken(ctx, e, e.cfg.Scope)
	if err != nil {
		return nil, err
	}
	ca := clientAuth{id: e.cfg.IntrospectClientID, secret: e.cfg.IntrospectClientSecret, method: e.cfg.TokenAuth}
	f := stateless(func(ctx context.Context) error {
		form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
		body, err := postForm(ctx, e.client, u, ca, form)
		if err != nil {
			return err
		}
		var r struct {
			Active bool `json:"active"`
		}
		if json.Unmarshal(body, &r) != nil {
			return flowError("introspection response is not JSON")
		}
		if !r.Active {
			return flowError("introspection answered active=false")
		}
		return nil
	})
	// Fail at set-up rather than report a run of identical errors.
	if err := f(ctx); err != nil {
		return nil, fmt.Errorf("set-up: first introspection: %w", err)
	}
	return f, nil
}

func newUserinfoFlow(ctx context.Context, e *env) (flow, error) {
	u, err := e.meta.endpoint("userinfo_endpoint", e.meta.UserinfoEndpoint)
	if err != nil {
		return nil, err
	}
	token, err := setupToken(ctx, e, withScope(e.cfg.Scope, "openid"))
	if err != nil {
		return nil, err
	}
	f := stateless(func(ctx context.Context) error {
		body, err := get(ctx, e.client, u, token)
		if err != nil {
			return err
		}
		var r struct {
			Sub string `json:"sub"`
		}
		if json.Unmarshal(body, &r) != nil || r.Sub == "" {
			return flowError("userinfo without sub")
		}
		return nil
	})
	if err := f(ctx); err != nil {
		return nil, fmt.Errorf("set-up: first userinfo call: %w", err)
	}
	return f, nil
}

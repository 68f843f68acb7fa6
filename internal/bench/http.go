package bench

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxBody bounds what the tool reads from one response, so that a
// misbehaving server cannot exhaust the load generator's memory.
const maxBody = 1 << 20

// newTransport returns the one keep-alive transport every worker shares,
// with enough idle connections per host that no worker has to redial
// between iterations.
func newTransport(cfg *Config) *http.Transport {
	idle := 2 * cfg.Concurrency
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          idle,
		MaxIdleConnsPerHost:   idle,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.Timeout,
		ExpectContinueTimeout: time.Second,
		// The flag exists for self-signed test servers only.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: cfg.Insecure}, //nolint:gosec // opt-in --insecure
	}
}

// newClient wraps the shared transport. Redirects are never followed
// automatically: the authorization code flow inspects every hop, and for the
// other flows a redirect is an error worth seeing.
func newClient(cfg *Config, rt http.RoundTripper, jar http.CookieJar) *http.Client {
	return &http.Client{
		Transport: rt,
		Jar:       jar,
		Timeout:   cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// do sends req and returns the status and (bounded) body. Transport errors
// are returned as they are, for kindOf to classify.
func do(c *http.Client, req *http.Request) (*http.Response, []byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, nil, err
	}
	// Drain what is left so that the connection goes back to the pool.
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp, body, nil
}

// get fetches u and fails on any status other than 200.
func get(ctx context.Context, c *http.Client, u, bearer string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("request %s: %w", u, err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	req.Header.Set("Accept", "application/json")
	resp, body, err := do(c, req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(resp, body)
	}
	return body, nil
}

// clientAuth is a client's credentials and how it presents them.
type clientAuth struct {
	id, secret, method string
}

// postForm POSTs form to endpoint authenticated as ca, and returns the body
// of a 200 answer.
func postForm(ctx context.Context, c *http.Client, endpoint string, ca clientAuth, form url.Values) ([]byte, error) {
	switch {
	case ca.secret == "":
		// A public client identifies itself in the body (RFC 6749 §3.2.1).
		form.Set("client_id", ca.id)
	case ca.method == TokenAuthPost:
		form.Set("client_id", ca.id)
		form.Set("client_secret", ca.secret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("request %s: %w", endpoint, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if ca.secret != "" && ca.method != TokenAuthPost {
		// RFC 6749 §2.3.1: both parts are form-urlencoded before Basic.
		req.SetBasicAuth(url.QueryEscape(ca.id), url.QueryEscape(ca.secret))
	}
	resp, body, err := do(c, req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(resp, body)
	}
	return body, nil
}

// tokenResponse is the part of RFC 6749 §5.1 the flows use.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	TokenType    string `json:"token_type"`
}

// requestToken calls the token endpoint and checks that an access token
// came back.
func requestToken(ctx context.Context, c *http.Client, endpoint string, ca clientAuth, form url.Values) (*tokenResponse, error) {
	body, err := postForm(ctx, c, endpoint, ca, form)
	if err != nil {
		return nil, err
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, flowError("token response is not JSON")
	}
	if tr.AccessToken == "" {
		return nil, flowError("token response without access_token")
	}
	return &tr, nil
}

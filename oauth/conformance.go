package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/ory/fosite"
)

// This file holds the RFC MUSTs fosite v0.49 does not keep on its own and
// real client libraries hit (issue 13 items 9–11, 13, 14, 19).

// maxClientIDLen bounds a client id a stranger may send (the ids Sesame
// creates are at most 128 characters, app.clientIDPattern).
const maxClientIDLen = 255

// checkClientAuthForm refuses, before any lookup, guess counting or audit
// row, a request that authenticates in more than one way or names two
// different clients (RFC 6749 §2.3: "The client MUST NOT use more than one
// authentication method in each request"), and a client id that is not
// RFC 6749 VSCHAR (%x20-7E; a client id with terminal escapes would
// otherwise reach the audit log and the operator's screen).
func checkClientAuthForm(r *http.Request, form url.Values) error {
	user, _, basic := r.BasicAuth()
	assertion := form.Get("client_assertion") != "" || form.Get("client_assertion_type") != ""
	bodySecret := form.Get("client_secret") != ""
	switch {
	case basic && (assertion || bodySecret), assertion && bodySecret:
		return fosite.ErrInvalidRequest.WithHint("Use exactly one client authentication method per request.")
	}
	ids := []string{form.Get("client_id")}
	if basic {
		// RFC 6749 §2.3.1: the Basic user name is form-encoded.
		id, err := url.QueryUnescape(user)
		if err != nil {
			return fosite.ErrInvalidRequest.WithHint("The client id in the Authorization header is not form-encoded.")
		}
		if ids[0] != "" && ids[0] != id {
			return fosite.ErrInvalidRequest.WithHint("The client_id in the body differs from the authenticated client.")
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		if !isVSCHAR(id) {
			return fosite.ErrInvalidRequest.WithHint("The client id must be at most 255 printable ASCII characters.")
		}
	}
	return nil
}

// isVSCHAR: at most maxClientIDLen characters of %x20-7E (RFC 6749 App. A).
func isVSCHAR(s string) bool {
	if len(s) > maxClientIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// basicChallenge adds WWW-Authenticate: Basic to a 401 answered to a
// client that tried HTTP Basic (RFC 6749 §5.2: the server "MUST include
// the WWW-Authenticate response header field matching the authentication
// scheme used by the client"). fosite's writers never set it.
func basicChallenge(c *gin.Context) {
	if strings.HasPrefix(strings.ToLower(c.GetHeader("Authorization")), "basic ") {
		c.Writer = &challengeWriter{ResponseWriter: c.Writer}
	}
	c.Next()
}

type challengeWriter struct{ gin.ResponseWriter }

func (w *challengeWriter) WriteHeader(code int) {
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="sesame", charset="UTF-8"`)
	}
	w.ResponseWriter.WriteHeader(code)
}

// grantTypeCheck is the first token endpoint handler: a grant the client
// is not registered for is unauthorized_client (RFC 6749 §5.2) before any
// other handler looks at scopes or audiences (fosite checks the grant type
// last, so a public client asking client_credentials got invalid_scope).
type grantTypeCheck struct{}

func (grantTypeCheck) CanHandleTokenEndpointRequest(context.Context, fosite.AccessRequester) bool {
	return true
}

func (grantTypeCheck) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool { return false }

func (grantTypeCheck) HandleTokenEndpointRequest(_ context.Context, ar fosite.AccessRequester) error {
	for _, gt := range ar.GetGrantTypes() {
		if !ar.GetClient().GetGrantTypes().Has(gt) {
			return fosite.ErrUnauthorizedClient.WithHintf("The client is not allowed to use the '%s' grant.", gt)
		}
	}
	return fosite.ErrUnknownRequest // allowed: the grant's own handler decides
}

func (grantTypeCheck) PopulateTokenEndpointResponse(context.Context, fosite.AccessRequester, fosite.AccessResponder) error {
	return fosite.ErrUnknownRequest
}

// issuerAudience is fosite's configuration with the issuer accepted as a
// client assertion audience next to the token endpoint URL (item 14:
// openid-client sends the issuer; RFC 7523bis and the OIDC Core errata make
// it the preferred value).
type issuerAudience struct {
	*fosite.Config
	urls []string
}

func (c issuerAudience) GetTokenURLs(context.Context) []string { return c.urls }

// noStateMarker stands in for an absent state during fosite's validation
// only: RFC 6749 §4.1.1 makes state optional, fosite requires one.
const noStateMarker = "sesame-absent-state"

// authorizeProvider is the provider given to package oidc: fosite's, with
// an absent state allowed (item 13; PKCE, enforced for every client here,
// is the CSRF protection of the code flow, RFC 9700 §2.1).
type authorizeProvider struct{ *fosite.Fosite }

func (p authorizeProvider) NewAuthorizeRequest(ctx context.Context, r *http.Request) (fosite.AuthorizeRequester, error) {
	if err := r.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return p.Fosite.NewAuthorizeRequest(ctx, r)
	}
	if IsPushedRequest(r.Form) {
		return p.pushed(ctx, r)
	}
	if r.Form.Get("state") != "" {
		return p.Fosite.NewAuthorizeRequest(ctx, r)
	}
	r2 := r.Clone(ctx)
	r2.Form.Set("state", noStateMarker)
	ar, err := p.Fosite.NewAuthorizeRequest(ctx, r2)
	if req, ok := ar.(*fosite.AuthorizeRequest); ok {
		req.State = ""
		req.Form.Del("state")
	}
	return ar, err
}

// NewAuthorizeResponse drops the empty state fosite adds when the request
// had none (RFC 6749 §4.1.2: state only "if present in the request").
func (p authorizeProvider) NewAuthorizeResponse(ctx context.Context, ar fosite.AuthorizeRequester, session fosite.Session) (fosite.AuthorizeResponder, error) {
	resp, err := p.Fosite.NewAuthorizeResponse(ctx, ar, session)
	if err == nil && ar.GetState() == "" {
		resp.GetParameters().Del("state")
	}
	return resp, err
}

// pushed resolves a request_uri from PAR (par.go). RFC 9126 §4: only the
// pushed parameters count, so fosite sees nothing of the front-channel
// request but client_id and request_uri; a pushed request without state
// carried the marker, removed here as for any other request.
func (p authorizeProvider) pushed(ctx context.Context, r *http.Request) (fosite.AuthorizeRequester, error) {
	r2 := r.Clone(ctx)
	r2.Method = http.MethodGet
	q := url.Values{"client_id": {r.Form.Get("client_id")}, "request_uri": {r.Form.Get("request_uri")}}
	u := *r.URL
	u.RawQuery = q.Encode()
	r2.URL, r2.Body, r2.ContentLength = &u, http.NoBody, 0
	r2.Header.Del("Content-Type")
	r2.Form, r2.PostForm, r2.MultipartForm = nil, nil, nil
	ar, err := p.Fosite.NewAuthorizeRequest(ctx, r2)
	if req, ok := ar.(*fosite.AuthorizeRequest); ok && err == nil {
		// The request is the pushed one now; a flow that resumes it
		// replays its parameters, not the used request_uri.
		req.Form.Del("request_uri")
		if req.State == noStateMarker {
			req.State = ""
			req.Form.Del("state")
		}
	}
	return ar, err
}

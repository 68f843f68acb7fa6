package oauth

import (
	"html/template"
	"net/url"

	"github.com/ory/fosite"
)

// response_mode=form_post (OAuth 2.0 Form Post Response Mode §2): the
// authorization response (code, state, iss — or the error) is not put in
// the redirect URI's query but POSTed to it by the browser, from an HTML
// form the authorization server returns. fosite writes that page itself
// with an inline script that submits the form, which the pages' CSP
// (script-src 'self', no 'unsafe-inline') would block. So the front
// channel renders the page from FormPost with its own template and an
// external script (web/ui), and fosite's writer gets formPostFallback,
// which has no script at all, should anything still reach it.

// FormPost is an authorization response to deliver by form_post: the
// browser POSTs Params, as application/x-www-form-urlencoded, to Action.
type FormPost struct {
	// Action is the validated redirect URI, its query kept (RFC 6749
	// §3.1.2) and without a fragment.
	Action *url.URL
	// Params are the response parameters: code, state and iss (RFC 9207),
	// or error, error_description, state and iss.
	Params url.Values
}

// IsFormPost reports whether the request asked for response_mode=form_post.
func (a *AuthorizeRequest) IsFormPost() bool {
	return a.ar != nil && a.ar.GetResponseMode() == fosite.ResponseModeFormPost
}

// RedirectURI is the redirect URI fosite validated (a copy), nil if it
// did not.
func (a *AuthorizeRequest) RedirectURI() *url.URL {
	if a.ar == nil || !a.ar.IsRedirectURIValid() || a.ar.GetRedirectURI() == nil {
		return nil
	}
	u := *a.ar.GetRedirectURI()
	u.Fragment = ""
	return &u
}

// FormPost is the code response as a form when the request asked for
// response_mode=form_post; nil otherwise (WriteAuthorizeResponse then
// redirects).
func (r *AuthorizeResponse) FormPost() *FormPost { return r.form }

// newFormPost is the form of params for a, nil unless a asked for
// form_post and its redirect URI is valid.
func newFormPost(a *AuthorizeRequest, params url.Values) *FormPost {
	if !a.IsFormPost() {
		return nil
	}
	u := a.RedirectURI()
	if u == nil {
		return nil
	}
	p := url.Values{}
	for k, vs := range params {
		p[k] = append([]string(nil), vs...)
	}
	return &FormPost{Action: u, Params: p}
}

// formPostFallback replaces fosite's DefaultFormPostTemplate (inline
// script): a plain form the user submits. The oidc package answers
// form_post itself; this only makes sure fosite never writes a script.
var formPostFallback = template.Must(template.New("form_post").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>Continue</title></head>
<body><form method="post" action="{{.RedirURL}}">
{{range $name, $values := .Parameters}}{{range $values}}<input type="hidden" name="{{$name}}" value="{{.}}">
{{end}}{{end}}<button type="submit">Continue</button>
</form></body></html>
`))

package ui

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// FormPostScriptPath submits the form_post page's form when it loads
// (static, embedded, same for every theme). Without it the page's
// Continue button does the same.
const FormPostScriptPath = "/static/formpost.js"

var formPostScript = mustStatic("static/formpost.js")

// FormField is one hidden input of the form_post page.
type FormField struct{ Name, Value string }

// FormPostData is the data of the form_post page.
type FormPostData struct {
	Action string
	Fields []FormField
}

// ErrFormAction: the redirect URI's origin cannot be named in a CSP
// form-action (not http or https, or a host that is no CSP host-source,
// such as an IPv6 literal), so the form_post page is not served for it.
var ErrFormAction = errors.New("ui: the redirect URI cannot be a form_post target")

// cspHost is what a CSP host-source may hold (CSP3 §2.3.1: host-char is
// ALPHA / DIGIT / "-", labels separated by dots).
var cspHost = regexp.MustCompile(`^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$`)

// FormActionSource is the CSP source expression of the origin of action
// (scheme://host[:port]); ErrFormAction if there is none.
func FormActionSource(action *url.URL) (string, error) {
	if action == nil || (action.Scheme != "https" && action.Scheme != "http") ||
		!cspHost.MatchString(action.Hostname()) || action.User != nil {
		return "", ErrFormAction
	}
	src := action.Scheme + "://" + strings.ToLower(action.Hostname())
	if p := action.Port(); p != "" {
		src += ":" + p
	}
	return src, nil
}

// FormPost renders the page of response_mode=form_post (OAuth 2.0 Form
// Post Response Mode §2): a form that POSTs params to action, submitted
// by FormPostScriptPath on load and by a visible Continue button without
// script. The page's CSP is CSP with form-action allowing exactly the
// origin of action (the page has nothing else to submit), and it is not
// cached. Values are escaped by html/template; nothing is written when
// action has no CSP origin (ErrFormAction).
//
// Chrome applies form-action to the redirects that follow the POST too
// (see httpx.DefaultCSP): a client whose callback answers with a redirect
// to another origin receives the response but the browser stops there;
// redirects within the client's origin work (oidc TestBrowserFormPost).
func FormPost(w http.ResponseWriter, action *url.URL, params url.Values) error {
	src, err := FormActionSource(action)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	d := FormPostData{Action: action.String()}
	for _, k := range names {
		for _, v := range params[k] {
			d.Fields = append(d.Fields, FormField{Name: k, Value: v})
		}
	}
	render(w, http.StatusOK, "formpost", "formpost.title", d, CSP+"; form-action "+src)
	return nil
}

package httpx

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// DefaultCSP is the Content-Security-Policy of every response. Sesame's
// pages use no script and no inline style (html/template, one stylesheet
// under /static), so everything not named is forbidden:
//   - default-src 'none': no script, font, frame, connect, media or object;
//   - style-src 'self': the stylesheet only, no inline style;
//   - img-src 'self' https: data:: client logos (logo_uri) are arbitrary
//     https URLs, and small icons may be inlined;
//   - frame-ancestors 'none': no clickjacking of the login or consent page
//     (X-Frame-Options: DENY says the same to older browsers);
//   - base-uri 'none': an injected <base> cannot re-point relative links.
//
// form-action is deliberately absent. Chrome applies form-action to every
// redirect that follows a form submission (Firefox historically did not),
// and the login and consent forms POST to us and are answered with a 303 to
// the client's redirect_uri, which may be any https origin, a loopback
// http://127.0.0.1:PORT (RFC 8252 §7.3) or a private-use scheme such as
// com.example.app:/cb (RFC 8252 §7.1). No static source list can allow
// them all; 'self' alone would silently break every login in Chrome. The
// threat form-action addresses (an injected form posting elsewhere) needs
// markup injection, which html/template prevents. An operator whose
// clients all use https may set SecurityOptions.FormAction to
// []string{"'self'", "https:"}.
const DefaultCSP = "default-src 'none'; style-src 'self'; img-src 'self' https: data:; frame-ancestors 'none'; base-uri 'none'"

// DefaultHSTSMaxAge is one year, the value browsers' preload lists expect.
const DefaultHSTSMaxAge = 365 * 24 * time.Hour

// SecurityOptions configures SecurityHeaders.
type SecurityOptions struct {
	// Issuer is the server's issuer URL; Strict-Transport-Security is sent
	// only when it is https (a TLS-terminating proxy in front makes the
	// request itself look like plain http, so the scheme of the request is
	// not a reliable signal).
	Issuer string
	// HSTSMaxAge defaults to DefaultHSTSMaxAge.
	HSTSMaxAge time.Duration
	// CSP replaces DefaultCSP when not empty.
	CSP string
	// FormAction, when not empty, adds "form-action <sources...>" to the
	// policy (see DefaultCSP for why it is off by default).
	FormAction []string
}

// SecurityHeaders sets, on every response of the routes it guards:
// Content-Security-Policy, X-Frame-Options: DENY, Referrer-Policy:
// no-referrer (authorization codes and state travel in URLs and must not
// leak to third parties through Referer), X-Content-Type-Options: nosniff
// and, for an https issuer, Strict-Transport-Security. The CSP is sent on
// JSON responses too: it is inert there and means an error page or a
// mis-typed response can never run script or be framed.
func SecurityHeaders(opts SecurityOptions) gin.HandlerFunc {
	csp := opts.CSP
	if csp == "" {
		csp = DefaultCSP
	}
	if len(opts.FormAction) > 0 {
		csp += "; form-action " + strings.Join(opts.FormAction, " ")
	}
	var hsts string
	if u, err := url.Parse(opts.Issuer); err == nil && strings.EqualFold(u.Scheme, "https") {
		maxAge := opts.HSTSMaxAge
		if maxAge <= 0 {
			maxAge = DefaultHSTSMaxAge
		}
		hsts = "max-age=" + strconv.FormatInt(int64(maxAge/time.Second), 10)
	}
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		if hsts != "" {
			h.Set("Strict-Transport-Security", hsts)
		}
		c.Next()
	}
}

// NoStore marks responses as never to be cached, by browsers or proxies:
// token, introspection and userinfo responses carry credentials and
// personal data (RFC 6749 §5.1 requires it of token responses).
func NoStore() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
		c.Next()
	}
}

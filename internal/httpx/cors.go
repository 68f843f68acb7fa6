package httpx

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/rs/cors"
)

// OriginLookup answers which browser origins clients allowed
// (storage.Client.AllowedCORSOrigins). Origins are compared after
// NormalizeOrigin.
type OriginLookup interface {
	// ClientOrigins lists the origins one client allows; an unknown client
	// allows none (empty list, nil error).
	ClientOrigins(ctx context.Context, clientID string) ([]string, error)
	// AnyClientAllows reports whether at least one client allows origin.
	AnyClientAllows(ctx context.Context, origin string) (bool, error)
}

// CORSMode says how the CORS middleware decides whether an origin may read
// a response.
type CORSMode int

const (
	// CORSClient is for endpoints the client authenticates to (token,
	// revoke, introspect): the origin must be one the requesting client
	// (client_id from HTTP Basic or the form body) registered.
	CORSClient CORSMode = iota
	// CORSAnyClient is for endpoints called with a user's access token
	// (userinfo): the origin must be registered by some client.
	CORSAnyClient
)

// corsMaxAge lets a browser reuse a preflight answer for 10 minutes
// (Chrome caps it at 2 hours anyway).
const corsMaxAge = 600

// maxPeek bounds how much of a form body CORS reads to find client_id;
// BodyLimit normally caps bodies well below it.
const maxPeek = 64 << 10

// CORS returns the per-client CORS middleware, built on rs/cors (preflight
// handling, Vary, method and header checks) with the origin decision made
// here:
//
//   - an allowed origin gets Access-Control-Allow-Origin set to exactly
//     that origin and never "*", and no Access-Control-Allow-Credentials:
//     these endpoints authenticate with an Authorization header or form
//     fields, never cookies, so a browser needs no credentialed mode;
//   - any other origin, or a request without Origin, gets no CORS headers;
//   - a preflight (OPTIONS with Access-Control-Request-Method) carries no
//     client_id, so in either mode it succeeds when any client registered
//     the origin; the actual request is then checked in full.
//
// Preflights are answered 204 and end the chain. gin only runs middleware
// for routes that exist, so register the middleware for OPTIONS on each
// path too (see Preflight).
func CORS(lookup OriginLookup, mode CORSMode) gin.HandlerFunc {
	if lookup == nil {
		panic("httpx.CORS: nil OriginLookup")
	}
	allow := func(r *http.Request, origin string) (bool, []string) {
		origin = NormalizeOrigin(origin)
		if origin == "" {
			return false, nil
		}
		ctx := r.Context()
		if mode == CORSAnyClient || r.Method == http.MethodOptions {
			ok, err := lookup.AnyClientAllows(ctx, origin)
			if err != nil {
				slog.WarnContext(ctx, "cors: origin lookup failed", "err", err)
				return false, nil
			}
			return ok, nil
		}
		clientID := requestClientID(r)
		if clientID == "" {
			return false, nil
		}
		origins, err := lookup.ClientOrigins(ctx, clientID)
		if err != nil {
			slog.WarnContext(ctx, "cors: client origin lookup failed", "err", err)
			return false, nil
		}
		return slices.Contains(origins, origin), nil
	}
	h := cors.New(cors.Options{
		AllowOriginVaryRequestFunc: allow,
		AllowedMethods:             []string{http.MethodGet, http.MethodPost},
		AllowedHeaders:             []string{"Authorization", "Content-Type"},
		// Lets a browser client read why a bearer token was refused
		// (RFC 6750 §3) and when to retry after a 429.
		ExposedHeaders:   []string{"WWW-Authenticate", "Retry-After"},
		MaxAge:           corsMaxAge,
		AllowCredentials: false,
	})
	return func(c *gin.Context) {
		h.HandlerFunc(c.Writer, c.Request)
		if c.Request.Method == http.MethodOptions {
			c.Header("Allow", "GET, POST, OPTIONS")
			c.AbortWithStatus(http.StatusNoContent)
			return
		}
		c.Next()
	}
}

// Preflight registers mw (a CORS middleware) for OPTIONS on each path of
// r, so that preflights reach it instead of gin's 405.
func Preflight(r gin.IRoutes, mw gin.HandlerFunc, paths ...string) {
	for _, p := range paths {
		r.OPTIONS(p, mw)
	}
}

// NormalizeOrigin puts an origin (or a registered allowed origin) in the
// form browsers send: lower case, no trailing slash. "null" (sandboxed or
// file: documents) and "*" are never a usable origin and give "".
func NormalizeOrigin(o string) string {
	o = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(o), "/"))
	if o == "null" || o == "*" {
		return ""
	}
	return o
}

// requestClientID finds the client a token, revoke or introspect request
// authenticates as: the HTTP Basic user name (form-encoded, RFC 6749
// §2.3.1) or the client_id form field. The body is read at most once and
// put back, so the handler sees it unchanged; a form already parsed (by
// LimitParams) is used as is.
func requestClientID(r *http.Request) string {
	if user, _, ok := r.BasicAuth(); ok {
		if id, err := url.QueryUnescape(user); err == nil {
			return id
		}
		return ""
	}
	if r.PostForm != nil {
		return r.PostForm.Get("client_id")
	}
	if !isForm(r) {
		return ""
	}
	buf, err := io.ReadAll(io.LimitReader(r.Body, maxPeek+1))
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(buf), r.Body), r.Body}
	if err != nil || len(buf) > maxPeek {
		return ""
	}
	form, err := url.ParseQuery(string(buf))
	if err != nil {
		return ""
	}
	return form.Get("client_id")
}

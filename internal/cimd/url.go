package cimd

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// ErrInvalidClientID is wrapped when a URL client_id breaks §3 of the
// draft.
var ErrInvalidClientID = errors.New("cimd: invalid client identifier URL")

// maxURLLength bounds a client_id URL (and a jwks_uri) before any parsing.
const maxURLLength = 2000

// LooksLikeClientID is the cheap test that picks the clients this package
// resolves: registered client ids are [A-Za-z0-9._~-] only (internal/app),
// so an id with a scheme can only be a metadata document URL.
func LooksLikeClientID(id string) bool { return strings.HasPrefix(id, "https://") }

// parseFetchURL checks a URL the resolver is asked to fetch: https (http
// too when allowHTTP, for loopback tests), a host, a path without dot
// segments, no user information, no fragment (draft §3). The IP literal of
// a host is checked here already; names are checked after resolution.
func parseFetchURL(raw string, allowHTTP, allowLoopback bool) (*url.URL, error) {
	bad := func(why string) error { return fmt.Errorf("%w: %s", ErrInvalidClientID, why) }
	if len(raw) > maxURLLength {
		return nil, bad(fmt.Sprintf("longer than %d characters", maxURLLength))
	}
	if strings.ContainsAny(raw, "#\\ \t\r\n") {
		return nil, bad("must not contain a fragment, a backslash or white space")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, bad("not a URL")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowHTTP:
	default:
		return nil, bad("must use https")
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return nil, bad("must have a host")
	}
	if u.User != nil {
		return nil, bad("must not contain user information")
	}
	if u.Path == "" {
		return nil, bad("must have a path")
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == "." || seg == ".." {
			return nil, bad("must not contain . or .. path segments")
		}
	}
	if ip, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil {
		if err := PublicAddr(ip, allowLoopback); err != nil {
			return nil, err
		}
	}
	return u, nil
}

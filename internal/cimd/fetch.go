package cimd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ErrFetch is wrapped by every failure to get a document (or a key set):
// refused address, too large, too slow, not 200, not JSON.
var ErrFetch = errors.New("cimd: fetch failed")

// fetcher is the HTTP client that goes out on behalf of anonymous
// clients. See the package doc for the rules.
type fetcher struct {
	opts   Options
	client *http.Client
}

func newFetcher(o Options) *fetcher {
	f := &fetcher{opts: o}
	tr := &http.Transport{
		// Never a proxy: the address check must see where the socket
		// really goes, and HTTPS_PROXY in the environment would make it
		// check the proxy instead.
		Proxy:                 nil,
		DialContext:           f.dial,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: o.RootCAs},
		TLSHandshakeTimeout:   o.Timeout,
		ResponseHeaderTimeout: o.Timeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       30 * time.Second,
		// A compressed body would be inflated past what was limited.
		DisableCompression: true,
		// Headers of a hostile server are bounded too.
		MaxResponseHeaderBytes: 16 << 10,
	}
	f.client = &http.Client{Transport: tr, CheckRedirect: f.checkRedirect}
	return f
}

// checkRedirect bounds redirects and keeps them on https; where each one
// connects is checked by dial like the first request.
func (f *fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > f.opts.MaxRedirects {
		return fmt.Errorf("%w: more than %d redirects", ErrFetch, f.opts.MaxRedirects)
	}
	if _, err := parseFetchURL(req.URL.String(), f.opts.AllowLoopback, f.opts.AllowLoopback); err != nil {
		return fmt.Errorf("%w: redirect to %s: %w", ErrFetch, req.URL.Redacted(), err)
	}
	return nil
}

// dial resolves the host itself, refuses the name if any of its addresses
// is not public (a name that is partly internal is not a client's
// website), and dials the checked addresses; Control checks again what
// the socket is about to connect to.
func (f *fetcher) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else if ips, err = f.opts.LookupIP(ctx, host); err != nil {
		return nil, fmt.Errorf("%w: resolve %s: %w", ErrFetch, host, err)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("%w: %s has no address", ErrFetch, host)
	}
	for _, ip := range ips {
		if err := PublicAddr(ip, f.opts.AllowLoopback); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrFetch, host, err)
		}
	}
	d := net.Dialer{Timeout: f.opts.Timeout, Control: f.control}
	var lastErr error
	for _, ip := range ips {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return c, nil
		}
		lastErr = err
	}
	return nil, fmt.Errorf("%w: %w", ErrFetch, lastErr)
}

// control runs right before connect(2) with the numeric address: the last
// word on where a fetch may go, whatever resolved it.
func (f *fetcher) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q is not an IP address and port", ErrForbiddenAddress, address)
	}
	return PublicAddr(ap.Addr(), f.opts.AllowLoopback)
}

// get fetches rawURL (already checked by parseFetchURL) and returns a JSON
// body of at most limit bytes with the response's headers. The whole
// exchange, redirects and body included, has Options.Timeout.
func (f *fetcher) get(ctx context.Context, rawURL string, limit int64) ([]byte, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Sesame (client ID metadata document fetcher)")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("%w: HTTP status %d", ErrFetch, resp.StatusCode)
	}
	if !isJSON(resp.Header.Get("Content-Type")) {
		return nil, nil, fmt.Errorf("%w: content type %q is not JSON", ErrFetch, resp.Header.Get("Content-Type"))
	}
	if resp.ContentLength > limit {
		return nil, nil, fmt.Errorf("%w: %d bytes, more than the %d allowed", ErrFetch, resp.ContentLength, limit)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: read body: %w", ErrFetch, err)
	}
	if int64(len(body)) > limit {
		return nil, nil, fmt.Errorf("%w: more than the %d bytes allowed", ErrFetch, limit)
	}
	return body, resp.Header, nil
}

// isJSON accepts application/json and application/<x>+json (draft §4.1).
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

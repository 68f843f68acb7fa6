package httpx

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/gin-gonic/gin"
)

// ParseTrustedProxies parses a comma-separated list of IP addresses and
// CIDR prefixes (SESAME_TRUSTED_PROXIES), e.g. "10.0.0.0/8, 192.0.2.7".
// An empty string means no proxy is trusted.
func ParseTrustedProxies(s string) ([]string, error) {
	var out []string
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if strings.Contains(item, "/") {
			p, err := netip.ParsePrefix(item)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: not an IP address or CIDR prefix: %w", item, err)
			}
			out = append(out, p.Masked().String())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: not an IP address or CIDR prefix: %w", item, err)
		}
		out = append(out, a.String())
	}
	return out, nil
}

// ConfigureProxies makes gin's Context.ClientIP (and so ClientIP, the
// request log, the rate limits, the brute-force guard and the audit
// trail) honour X-Forwarded-For only when the direct peer is one of
// proxies (IPs or CIDRs, see ParseTrustedProxies). The header is read from
// the right, skipping trusted hops, so a client cannot forge its address
// by sending its own X-Forwarded-For through the proxy. X-Real-IP and
// platform headers (TrustedPlatform) are not used: one header, one rule.
// With no proxies the peer address is always the client IP.
func ConfigureProxies(e *gin.Engine, proxies []string) error {
	e.TrustedPlatform = ""
	e.ForwardedByClientIP = len(proxies) > 0
	e.RemoteIPHeaders = []string{"X-Forwarded-For"}
	if len(proxies) == 0 {
		proxies = nil // gin: nil trusts nobody; an empty slice would too, but say it
	}
	if err := e.SetTrustedProxies(proxies); err != nil {
		return fmt.Errorf("httpx: trusted proxies: %w", err)
	}
	return nil
}

// ClientIP is the client address of the request as gin resolves it under
// ConfigureProxies, normalised (an IPv4-mapped IPv6 address becomes IPv4)
// so that one client has one spelling. It is "" only when the peer address
// cannot be parsed.
func ClientIP(c *gin.Context) string {
	ip := c.ClientIP()
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	return a.Unmap().WithZone("").String()
}

type clientIPKey struct{}

// StoreClientIP puts ClientIP into the request's context, for handlers
// written against net/http (w, r) that have no gin.Context: they read it
// back with RequestIP. Mount it on the engine.
func StoreClientIP() gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx := context.WithValue(c.Request.Context(), clientIPKey{}, ClientIP(c))
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

// RequestIP is the client IP StoreClientIP resolved (trusted proxies
// honoured). Without StoreClientIP it falls back to the peer address,
// which behind a proxy is the proxy's: every user would then share one
// address and one per-IP brute-force counter.
func RequestIP(r *http.Request) string {
	if ip, ok := r.Context().Value(clientIPKey{}).(string); ok {
		return ip
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap().WithZone("").String()
	}
	return host
}

// limitKey is the rate-limit bucket of an address: IPv6 clients are
// grouped by /64, since one host usually holds a whole /64 and could
// otherwise rotate addresses to escape the limit.
func limitKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is6() {
		return ip
	}
	p, _ := a.Prefix(64)
	return p.String()
}

package cimd

import (
	"errors"
	"fmt"
	"net/netip"
)

// ErrForbiddenAddress is wrapped by every refusal of an address: a
// document's host (or a redirect's) resolved to somewhere a fetch on
// behalf of an anonymous client must never go.
var ErrForbiddenAddress = errors.New("cimd: address not allowed")

// blockedRange is one special-purpose block (RFC 6890 and the IANA
// special-purpose registries) that is not the public Internet.
type blockedRange struct {
	p    netip.Prefix
	what string
}

var blocked4 = []blockedRange{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified (this network)"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"}, // cloud metadata at 169.254.169.254
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignment"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved or broadcast"},
}

var blocked6 = []blockedRange{
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("::/96"), "IPv4-compatible (deprecated)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
	{netip.MustParsePrefix("100::/64"), "discard-only"},
	{netip.MustParsePrefix("2001::/32"), "Teredo"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("fc00::/7"), "unique-local"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "site-local (deprecated)"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

var (
	nat64   = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052: the last 32 bits are an IPv4 address
	sixto4  = netip.MustParsePrefix("2002::/16")    // RFC 3056: bits 16–47 are an IPv4 address
	loop4   = netip.MustParsePrefix("127.0.0.0/8")
	loop6   = netip.MustParseAddr("::1")
	unknown = "not a valid IP address"
)

// PublicAddr returns nil when ip is an address a metadata fetch may
// connect to, else an error wrapping ErrForbiddenAddress that names the
// kind of address. IPv6 forms that carry an IPv4 address (IPv4-mapped
// ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d, 6to4 2002:aabb:ccdd::) are
// judged by that IPv4 address, so ::ffff:127.0.0.1 is loopback.
// allowLoopback lets loopback (and only loopback) through, for tests.
func PublicAddr(ip netip.Addr, allowLoopback bool) error {
	if !ip.IsValid() {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, unknown)
	}
	ip = ip.WithZone("").Unmap()
	if allowLoopback && (loop4.Contains(ip) || ip == loop6) {
		return nil
	}
	if ip.Is6() {
		switch {
		case nat64.Contains(ip):
			b := ip.As16()
			return embedded(ip, netip.AddrFrom4([4]byte(b[12:16])))
		case sixto4.Contains(ip):
			b := ip.As16()
			return embedded(ip, netip.AddrFrom4([4]byte(b[2:6])))
		}
		return check(ip, blocked6)
	}
	return check(ip, blocked4)
}

func check(ip netip.Addr, ranges []blockedRange) error {
	for _, r := range ranges {
		if r.p.Contains(ip) {
			return fmt.Errorf("%w: %s is %s", ErrForbiddenAddress, ip, r.what)
		}
	}
	return nil
}

// embedded judges an IPv6 address by the IPv4 address inside it (never
// allowing loopback: a translated loopback is not a test server).
func embedded(outer, inner netip.Addr) error {
	if err := check(inner, blocked4); err != nil {
		return fmt.Errorf("%w (inside %s)", err, outer)
	}
	return nil
}

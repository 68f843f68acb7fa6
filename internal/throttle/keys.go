package throttle

import (
	"net/netip"
	"strings"
)

// Key prefixes. Each kind of key is its own counter space in the store.
const (
	prefixUser   = "user:"
	prefixClient = "client:"
	prefixIP     = "ip:"
	prefixPair   = "userip:"
	prefixDevice = "device:"
	prefixFactor = "mfa:"
)

// DeviceKey is the counter key of user codes typed at the device
// verification page from one address (IPKey's reduction): wrong codes
// back off per address like a password does per account (RFC 8628 §5.1).
func DeviceKey(ip string) string { return prefixDevice + strings.TrimPrefix(IPKey(ip), prefixIP) }

// UserKey is the counter key of a login name. It is lower-cased because
// usernames are unique case-insensitively (storage.UserStore), so "Alice"
// and "alice" must share one counter. It is used for unknown usernames too:
// locking then behaves identically whether or not the account exists.
func UserKey(username string) string {
	return prefixUser + strings.ToLower(strings.TrimSpace(username))
}

// PairKey is the counter key of a login name tried from one address
// (IPKey's reduction): the address comes first and ends at the first
// space, which no address contains, so no two pairs share a key.
func PairKey(username, ip string) string {
	return prefixPair + strings.TrimPrefix(IPKey(ip), prefixIP) + " " + strings.TrimPrefix(UserKey(username), prefixUser)
}

// ClientKey is the counter key of an OAuth client id (case-sensitive, as
// client ids are).
func ClientKey(clientID string) string { return prefixClient + clientID }

// IPKey is the counter key of a client IP address. IPv6 addresses are
// reduced to their /64 prefix: one host usually owns a whole /64 and could
// otherwise rotate addresses to escape the limit. Unparseable input is
// kept verbatim (it still gets its own counter).
func IPKey(ip string) string {
	addr, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return prefixIP + ip
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.WithZone("").Prefix(64)
		return prefixIP + p.String()
	}
	return prefixIP + addr.String()
}

// isIPKey reports whether key counts failures of an IP address, which
// follow the per-IP window rather than the per-account back-off.
func isIPKey(key string) bool { return strings.HasPrefix(key, prefixIP) }

// FactorKey is the counter key of a user's second factor (TOTP and
// recovery codes), by user id: only someone who passed the password check
// reaches the second-factor page, so guessing codes locks that account's
// second step, never the password form of its owner elsewhere.
func FactorKey(userID string) string { return prefixFactor + userID }

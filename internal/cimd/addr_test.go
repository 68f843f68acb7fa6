package cimd

import (
	"errors"
	"net/netip"
	"testing"
)

func TestPublicAddr(t *testing.T) {
	for _, tc := range []struct {
		ip      string
		allowed bool
	}{
		{"127.0.0.1", false},
		{"127.255.0.1", false},
		{"::1", false},
		{"10.0.0.1", false},
		{"10.255.255.255", false},
		{"172.16.0.1", false},
		{"172.31.255.254", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"169.254.0.1", false},
		{"100.64.0.1", false},
		{"0.0.0.0", false},
		{"::", false},
		{"224.0.0.1", false},
		{"255.255.255.255", false},
		{"ff02::1", false},
		{"fe80::1", false},
		{"fe80::1%eth0", false},
		{"fc00::1", false},
		{"fd12:3456::1", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"::ffff:169.254.169.254", false},
		{"::127.0.0.1", false},        // IPv4-compatible
		{"64:ff9b::7f00:1", false},    // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", false}, // NAT64 of 169.254.169.254
		{"2002:7f00:1::1", false},     // 6to4 of 127.0.0.1
		{"2002:c0a8:101::1", false},   // 6to4 of 192.168.1.1
		{"2001:db8::1", false},
		{"8.8.8.8", true},
		{"93.184.215.14", true},
		{"172.32.0.1", true},
		{"::ffff:8.8.8.8", true},
		{"64:ff9b::808:808", true}, // NAT64 of 8.8.8.8
		{"2606:4700::1111", true},
	} {
		t.Run(tc.ip, func(t *testing.T) {
			err := PublicAddr(netip.MustParseAddr(tc.ip), false)
			if tc.allowed && err != nil {
				t.Fatalf("public address refused: %v", err)
			}
			if !tc.allowed && !errors.Is(err, ErrForbiddenAddress) {
				t.Fatalf("internal address allowed (err %v)", err)
			}
		})
	}
}

func TestAllowLoopbackAllowsOnlyLoopback(t *testing.T) {
	for _, ip := range []string{"127.0.0.1", "::1", "::ffff:127.0.0.1"} {
		if err := PublicAddr(netip.MustParseAddr(ip), true); err != nil {
			t.Errorf("%s refused with loopback allowed: %v", ip, err)
		}
	}
	for _, ip := range []string{"10.0.0.1", "169.254.169.254", "fe80::1", "fc00::1", "0.0.0.0", "64:ff9b::7f00:1"} {
		if err := PublicAddr(netip.MustParseAddr(ip), true); err == nil {
			t.Errorf("%s allowed with only loopback allowed", ip)
		}
	}
	if err := PublicAddr(netip.Addr{}, false); err == nil {
		t.Error("the zero address was allowed")
	}
}

func TestParseFetchURL(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		ok        bool
	}{
		{"https with path", "https://client.example.com/oauth/client.json", true},
		{"port and query", "https://client.example.com:8443/c?v=1", true},
		{"root path", "https://client.example.com/", true},
		{"http", "http://client.example.com/c", false},
		{"no path", "https://client.example.com", false},
		{"fragment", "https://client.example.com/c#x", false},
		{"user info", "https://u:p@client.example.com/c", false},
		{"dot segment", "https://client.example.com/a/./c", false},
		{"dot-dot segment", "https://client.example.com/a/../c", false},
		{"encoded dot-dot", "https://client.example.com/a/%2e%2e/c", false},
		{"loopback literal", "https://127.0.0.1/c", false},
		{"metadata literal", "https://169.254.169.254/latest/meta-data", false},
		{"mapped literal", "https://[::ffff:127.0.0.1]/c", false},
		{"space", "https://client.example.com/a b", false},
		{"too long", "https://client.example.com/" + string(make([]byte, 2001)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseFetchURL(tc.url, false, false)
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

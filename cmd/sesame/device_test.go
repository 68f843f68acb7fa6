package main

import (
	"strings"
	"testing"
)

// TestDeviceClient (issue 18): a public client for the device flow is
// created with the RFC 8628 grant type and no redirect URI; refresh
// tokens may come with it; a confidential one works too.
func TestDeviceAndPARClients(t *testing.T) {
	backends(t, func(t *testing.T, c *cli) {
		const device = "urn:ietf:params:oauth:grant-type:device_code"
		var tv clientJSON
		c.json(&tv, "", "clients", "create", "--name", "TV app", "--public", "--grant-types", device+",refresh_token",
			"--scopes", "openid offline_access", "--json")
		if tv.ClientSecret != nil || !tv.Public || tv.AuthMethod != "none" ||
			strings.Join(tv.GrantTypes, ",") != device+",refresh_token" || len(tv.RedirectURIs) != 0 {
			t.Fatalf("device client %+v", tv)
		}
		var got clientJSON
		c.json(&got, "", "clients", "get", tv.ClientID, "--json")
		if strings.Join(got.GrantTypes, ",") != device+",refresh_token" {
			t.Fatalf("stored grant types %v", got.GrantTypes)
		}
		var conf clientJSON
		c.json(&conf, "", "clients", "create", "--name", "Kiosk", "--grant-types", device, "--scopes", "openid", "--json")
		if conf.ClientSecret == nil || conf.Public || conf.RequirePAR {
			t.Fatalf("confidential device client %+v", conf)
		}
		// RFC 9126 §6: a client may require pushed authorization requests.
		var strict clientJSON
		c.json(&strict, "", "clients", "create", "--name", "Strict", "--redirect-uris", "https://strict.example.com/cb",
			"--require-pushed-authorization-requests", "--json")
		if !strict.RequirePAR {
			t.Fatalf("--require-pushed-authorization-requests not stored: %+v", strict)
		}
		c.ok("", "clients", "update", strict.ClientID, "--require-pushed-authorization-requests=false")
		c.json(&strict, "", "clients", "get", strict.ClientID, "--json")
		if strict.RequirePAR {
			t.Fatal("clients update --require-pushed-authorization-requests=false did not clear it")
		}
	})
}

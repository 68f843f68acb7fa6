// Package federation is the end-to-end test of sign-in through other
// providers (SPEC part two): a second Sesame instance on a loopback port
// is the upstream OpenID Connect provider of the first, a small server
// behaving like GitHub's API is an oauth2 upstream, and a real OpenLDAP
// (slapd, started by the test) is an ldap upstream. Everything runs over
// real HTTP (and LDAP) with a cookie-jar browser.
package federation

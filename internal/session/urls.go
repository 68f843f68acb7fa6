package session

import "net/url"

// The front channel's hand-off, named once. The authorization endpoint
// (package oidc) parks a request as a flow and sends the browser to the
// login or consent page (package web) with ?flow=HANDLE; those pages send
// it back to the authorization endpoint with the same parameter. Neither
// package imports the other, so both take the paths from here.
const (
	PathAuthorize = "/oauth2/authorize"
	PathLogin     = "/login"
	PathConsent   = "/consent"
	// PathLoginUpstream + an upstream's id signs in through that
	// provider (web/upstream.go); idp_hint sends the browser there.
	PathLoginUpstream = "/login/upstream/"
	// PathLoginMFA is the second step of a sign-in (web/mfa.go); a
	// step-up flow (FlowStepUp) is sent there.
	PathLoginMFA = "/login/mfa"
	// FlowParam is the query parameter that carries a flow handle.
	FlowParam = "flow"
)

// FlowURL is path with the flow handle as its ?flow= parameter.
func FlowURL(path, handle string) string {
	return path + "?" + FlowParam + "=" + url.QueryEscape(handle)
}

// LoginURL is the login page for a parked authorization request.
func LoginURL(handle string) string { return FlowURL(PathLogin, handle) }

// ConsentURL is the consent page for a parked authorization request.
func ConsentURL(handle string) string { return FlowURL(PathConsent, handle) }

// ResumeURL is where a finished login or consent sends the browser back
// to: the authorization endpoint, which picks the request up again.
func ResumeURL(handle string) string { return FlowURL(PathAuthorize, handle) }

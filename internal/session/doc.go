// Package session owns the browser side of signing in: the login-session
// cookie (server-side record in storage.SessionStore, keyed by the hash of
// the cookie value), the CSRF tokens of the HTML forms, and the record that
// carries one authorization request across the login and consent pages
// (storage.AuthFlow), whose states are shared by package web (which moves a
// flow through login and consent) and package oidc (which creates the flow
// and finishes it).
//
// It imports storage and internal/secret only; web and oidc both build on it
// and never import each other.
package session

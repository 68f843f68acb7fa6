// Package ui renders Sesame's server-side HTML: the page templates and the
// stylesheet, embedded with go:embed. Pages carry no JavaScript and no
// inline script or style, so they are served under a strict
// Content-Security-Policy. Both package web (login, consent, account) and
// package oidc (authorization errors, sign-out) render through it, which
// is why it is a package of its own: oidc must not import web.
//
// It imports the standard library only.
package ui

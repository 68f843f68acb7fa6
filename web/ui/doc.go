// Package ui renders Sesame's server-side HTML: the page templates and the
// stylesheet, embedded with go:embed. Pages carry no inline script or
// style, so they are served under a strict Content-Security-Policy; the
// only scripts are static files (/static/passkeys.js for WebAuthn,
// /static/formpost.js for the response_mode=form_post page, FormPost),
// and every page works without them. Both package web (login, consent, account) and
// package oidc (authorization errors, sign-out) render through it, which
// is why it is a package of its own: oidc must not import web.
//
// It imports the standard library only.
package ui

// Package web owns Sesame's built-in browser UI: the login, consent and
// account pages, the signed-out page and the stylesheet route (the demo
// relying party is internal/demo). Pages are rendered by web/ui (html/template, no
// JavaScript); every form is protected by net/http's CrossOriginProtection
// and a hidden csrf_token bound to the flow or session (internal/session).
//
// web must not import oauth or oidc: the authorization endpoint (package
// oidc) hands a request to the login and consent pages through a
// storage.AuthFlow and a 303 redirect to /login?flow=… or /consent?flow=…,
// and these pages hand it back with a 303 to /oauth2/authorize?flow=….
package web

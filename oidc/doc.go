// Package oidc owns the browser-facing half of the protocol: the
// authorization endpoint (GET|POST /oauth2/authorize, code flow only), the
// ID-token claims of the grant it hands to oauth, the UserInfo endpoint
// and RP-initiated logout (/oauth2/logout), and the documents
// (documents.go): the discovery document at
// /.well-known/openid-configuration and /.well-known/oauth-authorization-server
// (oauth's Metadata plus the entries of these endpoints and the typed
// entries of Deps, serialized once in New) and the JWKS at
// /.well-known/jwks.json (internal/keys' precomputed bytes and ETag).
//
// The authorization endpoint validates a request through package oauth's
// narrow seam (oauth.ParseAuthorizeRequest, IssueCode, AuthorizeFailure;
// it never imports fosite), then hands the browser to the login and consent pages
// of package web through a storage.AuthFlow and 303 redirects
// (internal/session defines the flow states), and finishes the flow when
// the browser comes back with ?flow=. The answer — code or error — is a
// 303 to the redirect URI, or with response_mode=form_post the web/ui
// form_post page (oauth.FormPost), which posts it under the strict CSP.
//
// It may import oauth, internal/{keys,session,secret}, storage and web/ui
// (the HTML renderer); it must not import package web.
package oidc

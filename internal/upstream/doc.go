// Package upstream signs people in through other providers (SPEC part two
// "Sign-in through other providers"): an upstream OpenID Connect provider
// (Google, Entra ID, another Sesame), a GitHub-style OAuth 2.0 provider
// without ID tokens, or an LDAP directory. One file per type (oidc.go,
// oauth2.go, ldap.go) behind one small interface (upstream.go).
//
// Design:
//
//   - The package answers one question — who is this person according to
//     the upstream — as an Identity. It does not decide what that means
//     for Sesame's accounts (just-in-time creation, linking by verified
//     email, allowed domains): that is internal/app's FederatedSignIn, the
//     one owner of account rules, and web glues the two. Nor does it
//     count failed LDAP passwords: web hands Authenticate to
//     app.Passwords' guard, the one brute-force guard.
//   - Redirect upstreams (oidc, oauth2) are stateless: the caller keeps
//     state, nonce and PKCE verifier (web keeps them in a short-lived
//     cookie and claims the state once in the nonce store) and passes
//     them back to Finish.
//   - An oidc upstream's ID token is verified with go-jose v4 against the
//     upstream's JWKS (OIDC Core §3.1.3.7): signature, iss, aud, azp,
//     exp, iat and nonce. Discovery and the JWKS are cached; a token
//     signed with an unknown kid fetches the JWKS again (key rollover), at
//     most once per JWKSRefresh, so a stranger cannot make Sesame hammer
//     the upstream.
//   - Everything an upstream sends is bounded (body size, time, number
//     and length of groups): it is a stranger's input like any other.
//   - Errors: ErrUnavailable (the upstream could not be reached or
//     answered 5xx: "try again later"), ErrRefused (its answer is not
//     acceptable: a bad token, a wrong issuer, an error from the
//     upstream), ErrInvalidCredentials (ldap: wrong username or password).
//     Callers show a page for each; none is a 500.
//
// It imports internal/httpx and storage at most (STYLE.md); never oauth,
// oidc, web or internal/app.
package upstream

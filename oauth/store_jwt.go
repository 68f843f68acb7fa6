package oauth

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/token/jwt"

	"github.com/sesameauth/sesame/storage"
)

// JWT access tokens are issued without a row: issuing one costs a signature
// and, for a new grant, the grant row, never a token row (SQLite has a
// single writer; a write per token capped issuance). The token itself
// carries everything introspection answers, signed, plus the grant_id
// claim naming its grant. Looking one up (introspection, userinfo, RFC 7009
// revocation, the admin API) verifies it and then checks, like a row
// lookup would: exp, the client, the grant (revoked → inactive) and the jti
// denylist (a revoked single token). Revocation therefore stays exact: a
// revoked grant (refresh-token reuse, code replay, RFC 7009 of either
// token, an admin) makes every JWT of it introspect inactive, and revoking
// a JWT itself also denylists its jti until exp.
//
// JWTs issued before rowless issuance have no grant_id claim and still
// have their row; they are looked up by their signature as before.

// jwtStandardClaims are the claims the lookup turns back into request and
// session fields; every other claim is Session.Extra.
var jwtStandardClaims = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "iat": true, "nbf": true,
	"jti": true, "client_id": true, "scope": true, "scp": true, claimGrantID: true,
	"preferred_username": true, "cnf": true, claimAct: true,
}

// getJWTAccessSession rebuilds the request of a rowless JWT access token.
// handled is false when token is not one (no grant_id claim: an older
// token with a row), and the caller falls back to the row.
func (f *fositeStore) getJWTAccessSession(ctx context.Context, token string, session fosite.Session) (r fosite.Requester, handled bool, err error) {
	if f.atVerifier == nil {
		return nil, false, nil
	}
	t, err := f.atVerifier.Decode(ctx, token)
	var verr *jwt.ValidationError
	switch {
	case err != nil && !errors.As(err, &verr):
		// The key manager failed: an outage, not a bad token.
		return nil, true, f.fail(ctx, "verify jwt access token", err)
	case t == nil:
		return nil, true, fosite.ErrNotFound.WithWrap(err).WithDebug("invalid jwt")
	}
	claims := t.Claims
	grantID, _ := claims[claimGrantID].(string)
	if grantID == "" {
		return nil, false, nil
	}
	if err != nil {
		// Signature fine, claims not (expired, not yet valid).
		return nil, true, fosite.ErrInactiveToken.WithWrap(err).WithDebug("jwt claims invalid")
	}
	if typ, _ := t.Header["typ"].(string); !strings.EqualFold(typ, "at+jwt") {
		// An ID token signed by the same key is not an access token.
		return nil, true, fosite.ErrNotFound.WithDebug("not an at+jwt")
	}
	if iss, _ := claims["iss"].(string); iss != f.cfg.Issuer {
		return nil, true, fosite.ErrNotFound.WithDebug("foreign issuer")
	}
	exp, ok := numericDate(claims["exp"])
	if !ok || !exp.After(f.now()) {
		return nil, true, fosite.ErrInactiveToken.WithDebug("jwt expired")
	}
	clientID, _ := claims["client_id"].(string)
	client, err := f.GetClient(ctx, clientID)
	if err != nil {
		return nil, true, err
	}
	s, ok := session.(*Session)
	if !ok || s == nil || s.DefaultSession == nil {
		s = f.newSession()
	}
	sub, _ := claims["sub"].(string)
	s.SetSubject(sub)
	s.Username, _ = claims["preferred_username"].(string)
	s.ClientID = clientID
	s.AccessTokenJTI, _ = claims["jti"].(string)
	s.AccessTokenFormat = FormatJWT
	s.SetExpiresAt(fosite.AccessToken, exp)
	s.verifiedJWT = token
	s.DPoPJKT = cnfJKT(claims["cnf"])
	s.Act = actorFromClaim(claims[claimAct], 0)
	for k, v := range claims {
		if !jwtStandardClaims[k] {
			if s.Extra == nil {
				s.Extra = map[string]any{}
			}
			s.Extra[k] = v
		}
	}
	req := &fosite.Request{
		ID: grantID, Client: client, Session: s,
		GrantedScope: claimList(claims["scope"]), GrantedAudience: claimList(claims["aud"]),
	}
	req.RequestedScope, req.RequestedAudience = req.GrantedScope, req.GrantedAudience
	if iat, ok := numericDate(claims["iat"]); ok {
		req.RequestedAt = iat
	}
	st := stateOf(ctx)
	st.mu.Lock()
	st.presentedJWTs = append(st.presentedJWTs, presentedJWT{requestID: grantID, jti: s.AccessTokenJTI, exp: exp})
	st.mu.Unlock()
	if isClientGrant(grantID) {
		err = f.checkClientGrant(ctx, clientID, req.RequestedAt, false)
	} else {
		err = f.checkGrant(ctx, grantID)
	}
	if err != nil {
		return req, true, err
	}
	if s.AccessTokenJTI != "" {
		key := "j:" + s.AccessTokenJTI
		if _, ok := f.cached(ctx, key); !ok {
			st := f.revs.stamp()
			denied, err := f.s.NonceExists(ctx, storage.NonceJWTDenylist, s.AccessTokenJTI, f.now())
			if err != nil {
				return nil, true, f.fail(ctx, "check jwt denylist", err)
			}
			if denied {
				return req, true, fosite.ErrInactiveToken.WithDebug("jti revoked")
			}
			f.remember(ctx, key, false, st)
		}
	}
	return req, true, nil
}

// denyPresentedJWTs puts the jti of every rowless JWT of requestID this
// request looked up on the denylist until its exp: revoking a JWT must
// bite at resource servers that check the denylist, and no row lists it.
func (f *fositeStore) denyPresentedJWTs(ctx context.Context, requestID string) error {
	st := stateOf(ctx)
	st.mu.Lock()
	seen := append([]presentedJWT(nil), st.presentedJWTs...)
	st.mu.Unlock()
	now := f.now()
	for _, p := range seen {
		if p.requestID != requestID || p.jti == "" || !p.exp.After(now) {
			continue
		}
		if err := f.s.ClaimNonce(ctx, storage.NonceJWTDenylist, p.jti, p.exp); err != nil && !isConflict(err) {
			return err
		}
	}
	return nil
}

// numericDate reads a JWT NumericDate (a JSON number).
func numericDate(v any) (time.Time, bool) {
	switch n := v.(type) {
	case float64:
		return time.Unix(int64(n), 0).UTC(), true
	case int64:
		return time.Unix(n, 0).UTC(), true
	}
	return time.Time{}, false
}

// claimList reads a claim that is a space-separated string (scope) or a
// string or array of strings (aud).
func claimList(v any) fosite.Arguments {
	switch x := v.(type) {
	case string:
		return strings.Fields(x)
	case []any:
		out := make(fosite.Arguments, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return x
	}
	return nil
}

// cnfJKT reads cnf.jkt (RFC 9449 §6.1) of a token's claims.
func cnfJKT(v any) string {
	m, _ := v.(map[string]any)
	jkt, _ := m["jkt"].(string)
	return jkt
}

package oauth

import (
	"context"

	"github.com/ory/fosite"

	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// CreateAuthorizeCodeSession stores an authorization code.
func (f *fositeStore) CreateAuthorizeCodeSession(ctx context.Context, signature string, r fosite.Requester) error {
	exp := sessionOf(r).expiry(fosite.AuthorizeCode, f.now().Add(f.cfg.AuthCodeLifetime))
	return f.createRecord(ctx, storage.KindAuthorizeCode, signature, r, exp, "")
}

// GetAuthorizeCodeSession returns the request of a code. A redeemed code
// returns the request together with fosite.ErrInvalidatedAuthorizeCode, so
// that fosite revokes the grant's tokens (RFC 6749 §4.1.2). The second
// lookup of one request (fosite reads the code again in
// PopulateTokenEndpointResponse) finding the code redeemed means a
// concurrent request won: that is recorded as a lost race, not a replay.
func (f *fositeStore) GetAuthorizeCodeSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	rec, err := f.getRecord(ctx, storage.KindAuthorizeCode, signature)
	if err != nil {
		return nil, err
	}
	r, err := f.open(ctx, rec, session)
	if err != nil {
		return nil, err
	}
	st := stateOf(ctx)
	st.mu.Lock()
	seen := st.codeSeen
	st.codeSeen = true
	if !rec.Active && !seen {
		st.revokeReason = "code_replay"
	}
	st.mu.Unlock()
	if !rec.Active {
		if seen {
			st.setRaceLost()
		}
		return r, fosite.ErrInvalidatedAuthorizeCode
	}
	return r, nil
}

// InvalidateAuthorizeCodeSession redeems a code with a conditional update:
// of two concurrent redemptions exactly one succeeds; the other gets
// ErrSerializationFailure and its transaction (with its tokens) rolls back.
func (f *fositeStore) InvalidateAuthorizeCodeSession(ctx context.Context, signature string) error {
	err := f.s.DeactivateToken(ctx, storage.KindAuthorizeCode, secret.HashToken(signature), f.now(), nil)
	return f.fail(ctx, "redeem authorization code", err)
}

// CreatePKCERequestSession stores the PKCE challenge of a code (keyed by
// the code signature).
func (f *fositeStore) CreatePKCERequestSession(ctx context.Context, signature string, r fosite.Requester) error {
	exp := sessionOf(r).expiry(fosite.AuthorizeCode, f.now().Add(f.cfg.AuthCodeLifetime))
	return f.createRecord(ctx, storage.KindPKCE, signature, r, exp, "")
}

func (f *fositeStore) GetPKCERequestSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	rec, err := f.getRecord(ctx, storage.KindPKCE, signature)
	if err != nil {
		return nil, err
	}
	return f.open(ctx, rec, session)
}

func (f *fositeStore) DeletePKCERequestSession(ctx context.Context, signature string) error {
	return f.fail(ctx, "delete pkce", f.s.DeleteToken(ctx, storage.KindPKCE, secret.HashToken(signature)))
}

// CreateOpenIDConnectSession stores the OIDC request of a code. fosite keys
// it by the raw code (FOSITE.md §3.3); createRecord hashes it.
func (f *fositeStore) CreateOpenIDConnectSession(ctx context.Context, code string, r fosite.Requester) error {
	exp := sessionOf(r).expiry(fosite.AuthorizeCode, f.now().Add(f.cfg.AuthCodeLifetime))
	return f.createRecord(ctx, storage.KindOIDC, code, r, exp, "")
}

// GetOpenIDConnectSession returns openid.ErrNoSessionFound (which is
// fosite.ErrNotFound) when absent. The stored session is decoded into a
// fresh session rather than the caller's, which already carries the access
// token just issued.
func (f *fositeStore) GetOpenIDConnectSession(ctx context.Context, code string, _ fosite.Requester) (fosite.Requester, error) {
	rec, err := f.getRecord(ctx, storage.KindOIDC, code)
	if err != nil {
		return nil, err
	}
	return f.open(ctx, rec, nil)
}

func (f *fositeStore) DeleteOpenIDConnectSession(ctx context.Context, code string) error {
	return f.fail(ctx, "delete oidc session", f.s.DeleteToken(ctx, storage.KindOIDC, secret.HashToken(code)))
}

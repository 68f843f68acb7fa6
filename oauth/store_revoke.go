package oauth

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sesameauth/sesame/storage"
)

// RevokeRefreshToken revokes the grant family of requestID and deactivates
// its refresh tokens. fosite calls it (with RevokeAccessToken) on RFC 7009
// revocation, refresh-token reuse and code replay.
func (f *fositeStore) RevokeRefreshToken(ctx context.Context, requestID string) error {
	return f.revokeFamily(ctx, requestID, storage.KindRefreshToken)
}

// RevokeAccessToken revokes the grant family of requestID, deactivates its
// access tokens and puts the jti of each unexpired JWT access token on the
// denylist until its exp, so introspection answers inactive even for a
// resource server that checks the denylist without our rows.
func (f *fositeStore) RevokeAccessToken(ctx context.Context, requestID string) error {
	return f.revokeFamily(ctx, requestID, storage.KindAccessToken)
}

func (f *fositeStore) revokeFamily(ctx context.Context, requestID string, kind storage.TokenKind) error {
	now := f.now()
	reason := stateOf(ctx).reason("revoked")
	err := storage.InTx(ctx, f.s, func(ctx context.Context) error {
		if err := f.s.RevokeGrant(ctx, requestID, reason, now); err != nil && !isNotFound(err) {
			return fmt.Errorf("revoke grant: %w", err)
		}
		if kind == storage.KindAccessToken {
			if err := f.denyJWTs(ctx, requestID); err != nil {
				return err
			}
			if err := f.denyPresentedJWTs(ctx, requestID); err != nil {
				return fmt.Errorf("deny jti: %w", err)
			}
		}
		if _, err := f.s.DeactivateByRequestID(ctx, kind, requestID); err != nil {
			return fmt.Errorf("deactivate %s: %w", kind, err)
		}
		return nil
	})
	if err != nil {
		return f.fail(ctx, "revoke grant family", err)
	}
	return nil
}

// denyJWTs puts the jti of every unexpired JWT access token of the family
// on the denylist.
func (f *fositeStore) denyJWTs(ctx context.Context, requestID string) error {
	recs, err := f.s.ListByRequestID(ctx, storage.KindAccessToken, requestID)
	if err != nil {
		return fmt.Errorf("list access tokens: %w", err)
	}
	now := f.now()
	for _, rec := range recs {
		if !rec.ExpiresAt.After(now) {
			continue
		}
		s, err := f.sessionOnly(rec)
		if err != nil {
			return err
		}
		if s.AccessTokenFormat != FormatJWT || s.AccessTokenJTI == "" {
			continue
		}
		if err := f.s.ClaimNonce(ctx, storage.NonceJWTDenylist, s.AccessTokenJTI, rec.ExpiresAt); err != nil && !isConflict(err) {
			return fmt.Errorf("deny jti: %w", err)
		}
	}
	return nil
}

// sessionOnly decodes the session of a record without loading its client.
func (f *fositeStore) sessionOnly(rec storage.TokenRecord) (*Session, error) {
	b, err := f.ring.Open(rec.Data, aad(rec.Kind, rec.Signature))
	if err != nil {
		return nil, fmt.Errorf("open token record: %w", err)
	}
	s := f.newSession()
	sr := openedRequest{Session: s}
	if err := json.Unmarshal(b, &sr); err != nil {
		return nil, fmt.Errorf("decode token record: %w", err)
	}
	if sr.Session != any(s) {
		return nil, fmt.Errorf("decode session: session decoded as %T", sr.Session)
	}
	return s, nil
}

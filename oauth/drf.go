package oauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ory/fosite"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// Django REST Framework tokens (rest_framework.authtoken) imported by
// `sesame import django`. A DRF client keeps sending its 40-hex key, so
// Sesame accepts that exact value as an opaque access token of its user
// (introspection, /userinfo, the rs kit, /oauth2/revoke) — a personal
// token like `sesame tokens issue` makes, listed and revoked with them.
//
// The key is stored only as a keyed hash: the token row's signature is
// HMAC-SHA256 under a sub-key of SESAME_SECRET (secret.PurposeDRFToken),
// then hashed like every signature (store.go). Unlike Sesame's own HMAC
// tokens the key carries no signature to check, so the row found by that
// keyed hash is the proof; lookups try the current and every old system
// secret so a rotation of SESAME_SECRET keeps imported keys working.

// DRFTokenLifetime is how long an imported DRF token stays valid: DRF
// tokens never expire, and a shorter life would break the clients the
// import exists to keep working. Revoke to end one.
const DRFTokenLifetime = 10 * 365 * 24 * time.Hour

// drfSigPrefix marks, in memory only, the "signature" the strategy hands
// the store for a DRF key (tokenStrategy.AccessTokenSignature): the store
// turns it into the keyed hashes it looks up. It never reaches storage.
const drfSigPrefix = "drf-key:"

// IsDRFKey reports whether t has the shape of a DRF token key
// (app.IsDRFTokenKey).
func IsDRFKey(t string) bool { return app.IsDRFTokenKey(t) }

// drfSignatures are the signatures under which a DRF key may be stored,
// current system secret first.
func (f *fositeStore) drfSignatures(key string) []string {
	return f.ring.MACs(secret.PurposeDRFToken, key)
}

// drfAccessRecord finds the row of a DRF key under any system secret.
func (f *fositeStore) drfAccessRecord(ctx context.Context, key string) (storage.TokenRecord, error) {
	var last error
	for _, sig := range f.drfSignatures(key) {
		rec, err := f.accessRecord(ctx, sig)
		if err == nil {
			return rec, nil
		}
		if !errors.Is(err, fosite.ErrNotFound) {
			return rec, err
		}
		last = err
	}
	return storage.TokenRecord{}, last
}

// validateDRFKey is ValidateAccessToken for a DRF key: the record was
// found by the key's keyed hash, so only its expiry is left to check.
func validateDRFKey(r fosite.Requester, now time.Time) error {
	if exp := r.GetSession().GetExpiresAt(fosite.AccessToken); !exp.IsZero() && exp.Before(now) {
		return fosite.ErrTokenExpired.WithHint("The access token expired.")
	}
	return nil
}

// ImportDRFToken stores a DRF token key as a personal access token of
// userID issued to clientID with scopes (each allowed for the client),
// issued at createdAt (DRF's Token.created) and valid for
// DRFTokenLifetime from now. It is idempotent: a key already stored
// (under any system secret, whatever its state — a revoked key is not
// revived) is left alone and created is false.
func (h *Handler) ImportDRFToken(ctx context.Context, key, userID, clientID string, scopes []string, createdAt time.Time) (created bool, err error) {
	if !IsDRFKey(key) {
		return false, errors.New("oauth: import DRF token: the key is not 40 lower-case hex characters")
	}
	ctx, st := withState(ctx)
	for _, sig := range h.adapter.drfSignatures(key) {
		_, err := h.store.GetToken(ctx, storage.KindAccessToken, secret.HashToken(sig))
		if err == nil {
			return false, nil
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return false, fmt.Errorf("oauth: import DRF token: %w", err)
		}
	}
	now := h.now().UTC()
	if createdAt.IsZero() || createdAt.After(now) {
		createdAt = now
	}
	req, err := h.personalRequest(ctx, userID, clientID, scopes, createdAt.UTC(), now.Add(DRFTokenLifetime).Round(time.Second))
	if err != nil {
		return false, fmt.Errorf("oauth: import DRF token: %w", err)
	}
	if err := h.adapter.CreateAccessTokenSession(ctx, h.adapter.drfSignatures(key)[0], req); err != nil {
		if serr := st.storeFailure(); serr != nil {
			err = serr
		}
		return false, fmt.Errorf("oauth: import DRF token: %w", err)
	}
	return true, nil
}

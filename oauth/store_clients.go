package oauth

import (
	"context"
	"time"

	"github.com/ory/fosite"

	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// GetClient loads a client (fosite.ClientManager).
func (f *fositeStore) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	if id == "" {
		return nil, fosite.ErrNotFound.WithDebug("empty client id")
	}
	cached, gen := f.clients.get(id)
	if cached != nil {
		return cached, nil
	}
	c, err := f.s.GetClient(ctx, id)
	if err != nil {
		return nil, f.fail(ctx, "get client", err)
	}
	cl := newClient(c, f.logger)
	f.clients.put(cl, gen)
	return cl, nil
}

// assertionKey is the nonce value of a client-assertion jti. jti values are
// chosen by clients, so they are hashed to a fixed length.
func assertionKey(jti string) string { return secret.HashToken(jti) }

// ClientAssertionJWTValid reports a known, unexpired assertion jti with
// fosite.ErrJTIKnown. It is only a fast pre-check: the atomic guard against
// replay is the claim in SetClientAssertionJWT.
func (f *fositeStore) ClientAssertionJWTValid(ctx context.Context, jti string) error {
	ok, err := f.s.NonceExists(ctx, storage.NonceClientAssertion, assertionKey(jti), f.now())
	if err != nil {
		// fosite turns any error here into jti_known; the recorded
		// failure makes the endpoint answer 5xx instead.
		return f.fail(ctx, "check client assertion jti", err)
	}
	if ok {
		return fosite.ErrJTIKnown
	}
	return nil
}

// SetClientAssertionJWT claims the jti until exp (RFC 7523 §3 replay
// protection). Of several concurrent requests with the same assertion,
// exactly one claims it; the others get fosite.ErrJTIKnown.
func (f *fositeStore) SetClientAssertionJWT(ctx context.Context, jti string, exp time.Time) error {
	err := f.s.ClaimNonce(ctx, storage.NonceClientAssertion, assertionKey(jti), exp)
	switch {
	case err == nil:
		return nil
	case isConflict(err):
		return fosite.ErrJTIKnown.WithHint("Claim 'jti' from 'client_assertion' MUST only be used once.")
	}
	return f.fail(ctx, "claim client assertion jti", err)
}

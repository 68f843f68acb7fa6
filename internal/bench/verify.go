package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// verifyAlgs are the asymmetric algorithms a resource server may accept;
// HMAC is excluded because a JWKS never publishes a shared secret.
var verifyAlgs = []jose.SignatureAlgorithm{
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
}

// newVerifyFlow fetches the JWKS once and one access token, then measures
// what a resource server does per request: parse the compact JWS, pick the
// key by kid, check the signature and the registered claims. No HTTP runs
// in the loop.
func newVerifyFlow(ctx context.Context, e *env) (flow, error) {
	jwksURL, err := e.meta.endpoint("jwks_uri", e.meta.JWKSURI)
	if err != nil {
		return nil, err
	}
	body, err := get(ctx, e.client, jwksURL, "")
	if err != nil {
		return nil, fmt.Errorf("set-up: fetch jwks: %w", err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("set-up: parse jwks: %w", err)
	}
	token, err := setupToken(ctx, e, e.cfg.Scope)
	if err != nil {
		return nil, err
	}
	v := &verifier{keys: set, issuer: e.meta.Issuer, token: token}
	if err := v.verify(time.Now()); err != nil {
		return nil, fmt.Errorf("set-up: the access token does not verify against the JWKS (opaque token format?): %w", err)
	}
	return stateless(func(context.Context) error { return v.verify(time.Now()) }), nil
}

type verifier struct {
	keys   jose.JSONWebKeySet
	issuer string
	token  string
}

func (v *verifier) verify(now time.Time) error {
	tok, err := jwt.ParseSigned(v.token, verifyAlgs)
	if err != nil {
		return &opError{kind: "verify: parse", err: err}
	}
	if len(tok.Headers) != 1 {
		return &opError{kind: "verify: parse", err: errors.New("want exactly one signature")}
	}
	key, err := v.key(tok.Headers[0].KeyID)
	if err != nil {
		return err
	}
	var claims jwt.Claims
	if err := tok.Claims(key.Key, &claims); err != nil {
		return &opError{kind: "verify: signature", err: err}
	}
	if err := claims.Validate(jwt.Expected{Issuer: v.issuer, Time: now}); err != nil {
		return &opError{kind: "verify: claims", err: err}
	}
	return nil
}

// key selects the verification key by kid; a JWKS with a single signing
// key also serves tokens without a kid.
func (v *verifier) key(kid string) (*jose.JSONWebKey, error) {
	var candidates []jose.JSONWebKey
	if kid != "" {
		candidates = v.keys.Key(kid)
	} else {
		candidates = v.keys.Keys
	}
	for i := range candidates {
		if candidates[i].Use != "enc" {
			if kid == "" && len(candidates) > 1 {
				break
			}
			return &candidates[i], nil
		}
	}
	return nil, &opError{kind: "verify: no key for kid", err: fmt.Errorf("kid %q", kid)}
}

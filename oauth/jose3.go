package oauth

// This file is the only place where go-jose v3 appears: fosite v0.49 exposes
// v3 types in two spots we must fill (OpenIDConnectClient.GetJSONWebKeys and
// jwt.Token.Method). Everything else in Sesame uses go-jose v4.

import (
	"crypto/ecdsa"
	"encoding/json"
	"fmt"

	jose3 "github.com/go-jose/go-jose/v3"
)

// v3Algorithm converts a JWS algorithm name to the v3 type of jwt.Token.Method.
func v3Algorithm(alg string) jose3.SignatureAlgorithm { return jose3.SignatureAlgorithm(alg) }

// parseClientJWKS converts a client's inline JWK Set (JSON) to the v3 type
// fosite uses for private_key_jwt. Private members are rejected: a client
// must register public keys only.
func parseClientJWKS(raw string) (*jose3.JSONWebKeySet, error) {
	var set jose3.JSONWebKeySet
	if err := json.Unmarshal([]byte(raw), &set); err != nil {
		return nil, fmt.Errorf("oauth: client jwks: %w", err)
	}
	for i, k := range set.Keys {
		if !k.IsPublic() {
			return nil, fmt.Errorf("oauth: client jwks: key %d (kid %q) contains private material", i, k.KeyID)
		}
	}
	return &set, nil
}

// clientKeySet is the parsed inline JWKS of a client.
type clientKeySet = *jose3.JSONWebKeySet

// GetJSONWebKeys returns the client's inline JWKS (private_key_jwt).
func (c *Client) GetJSONWebKeys() *jose3.JSONWebKeySet { return c.jwks }

// GetTokenEndpointAuthSigningAlgorithm is the alg a private_key_jwt
// assertion must use. The storage record has no field for it, so it comes
// from the client's keys: the alg of the first signing key that names one,
// else ES256 for an EC key, else RS256.
func (c *Client) GetTokenEndpointAuthSigningAlgorithm() string {
	if c.jwks != nil {
		for _, k := range c.jwks.Keys {
			if k.Algorithm != "" && k.Use != "enc" {
				return k.Algorithm
			}
		}
		for _, k := range c.jwks.Keys {
			if _, ok := k.Key.(*ecdsa.PublicKey); ok && k.Use != "enc" {
				return "ES256"
			}
		}
	}
	return "RS256"
}

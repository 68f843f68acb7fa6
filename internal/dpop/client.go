package dpop

import (
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// ProofClaims are what a client puts into a proof. Zero IssuedAt means now;
// empty JTI draws a random one.
type ProofClaims struct {
	Method, URL string
	AccessToken string // sets ath
	Nonce       string
	IssuedAt    time.Time
	JTI         string
}

// NewProof signs a proof with key (the client side of RFC 9449 §4.2), for
// clients written in Go and for tests. alg must fit key.
func NewProof(key crypto.Signer, alg string, c ProofClaims) (string, error) {
	pub := jose.JSONWebKey{Key: key.Public()}
	opts := (&jose.SignerOptions{}).WithType("dpop+jwt").WithHeader("jwk", pub)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: key}, opts)
	if err != nil {
		return "", fmt.Errorf("dpop: signer: %w", err)
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = time.Now()
	}
	if c.JTI == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		c.JTI = base64.RawURLEncoding.EncodeToString(b)
	}
	claims := map[string]any{"jti": c.JTI, "htm": c.Method, "htu": c.URL, "iat": c.IssuedAt.Unix()}
	if c.AccessToken != "" {
		claims["ath"] = AccessTokenHash(c.AccessToken)
	}
	if c.Nonce != "" {
		claims["nonce"] = c.Nonce
	}
	payload, err := jsonMarshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("dpop: sign: %w", err)
	}
	return jws.CompactSerialize()
}

// Thumbprint is the RFC 7638 SHA-256 thumbprint of a public key, base64url
// (the cnf.jkt a token bound to it carries).
func Thumbprint(pub crypto.PublicKey) (string, error) {
	k := jose.JSONWebKey{Key: pub}
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("dpop: thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// aadPrefix binds a sealed private key to its kid (the additional data of
// the AEAD), so a ciphertext copied to another row does not open.
const aadPrefix = "sesame-signing-key:"

const useSig = "sig"

func sealAAD(kid string) []byte { return []byte(aadPrefix + kid) }

// material is a decrypted key: the signer and its public JWK. It never
// changes for a kid, so Manager caches it across reloads.
type material struct {
	signer crypto.Signer
	public jose.JSONWebKey
}

// generateSigner creates a fresh private key for alg.
func generateSigner(alg string, rsaBits int) (crypto.Signer, error) {
	switch alg {
	case RS256, PS256:
		k, err := rsa.GenerateKey(rand.Reader, rsaBits)
		if err != nil {
			return nil, fmt.Errorf("keys: generate RSA-%d key: %w", rsaBits, err)
		}
		return k, nil
	case ES256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("keys: generate P-256 key: %w", err)
		}
		return k, nil
	case EdDSA:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("keys: generate Ed25519 key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnsupportedAlgorithm, alg)
}

// checkSigner verifies that signer is the right kind of key for alg, so a
// tampered or mislabelled row cannot make us sign with an unexpected
// algorithm/key combination.
func checkSigner(alg string, signer crypto.Signer) error {
	switch k := signer.(type) {
	case *rsa.PrivateKey:
		if alg != RS256 && alg != PS256 {
			break
		}
		if bits := k.N.BitLen(); bits < minRSABits {
			return fmt.Errorf("RSA key of %d bits is below the minimum %d", bits, minRSABits)
		}
		return nil
	case *ecdsa.PrivateKey:
		if alg != ES256 {
			break
		}
		if k.Curve != elliptic.P256() {
			return fmt.Errorf("ES256 needs a P-256 key, got %s", k.Curve.Params().Name)
		}
		return nil
	case ed25519.PrivateKey:
		if alg == EdDSA {
			return nil
		}
	}
	return fmt.Errorf("key type %T does not match alg %s", signer, alg)
}

// kidOf returns the RFC 7638 SHA-256 thumbprint of pub, base64url.
func kidOf(pub crypto.PublicKey) (string, error) {
	jwk := jose.JSONWebKey{Key: pub}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("keys: thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

func publicJWK(signer crypto.Signer, kid, alg string) jose.JSONWebKey {
	return jose.JSONWebKey{Key: signer.Public(), KeyID: kid, Algorithm: alg, Use: useSig}
}

// newKey generates a key for alg and returns its pending storage row (the
// private JWK sealed by ring) and its material.
func newKey(ring *secret.Keyring, alg string, rsaBits int, now time.Time) (storage.SigningKey, material, error) {
	signer, err := generateSigner(alg, rsaBits)
	if err != nil {
		return storage.SigningKey{}, material{}, err
	}
	kid, err := kidOf(signer.Public())
	if err != nil {
		return storage.SigningKey{}, material{}, err
	}
	pub := publicJWK(signer, kid, alg)
	pubJSON, err := json.Marshal(pub)
	if err != nil {
		return storage.SigningKey{}, material{}, fmt.Errorf("keys: marshal public JWK: %w", err)
	}
	privJSON, err := json.Marshal(jose.JSONWebKey{Key: signer, KeyID: kid, Algorithm: alg, Use: useSig})
	if err != nil {
		return storage.SigningKey{}, material{}, fmt.Errorf("keys: marshal private JWK: %w", err)
	}
	// Best effort: do not leave the clear private JWK in memory longer
	// than needed (the big.Ints of the key itself live on in the signer).
	defer clear(privJSON)
	sealed, err := ring.Seal(privJSON, sealAAD(kid))
	if err != nil {
		return storage.SigningKey{}, material{}, fmt.Errorf("keys: seal private key %s: %w", kid, err)
	}
	row := storage.SigningKey{
		KID:        kid,
		Alg:        alg,
		Use:        useSig,
		State:      storage.KeyPending,
		PublicJWK:  pubJSON,
		PrivateEnc: sealed,
		// Microsecond precision: what every backend keeps, so times
		// compare the same before and after a round trip.
		CreatedAt: now.UTC().Truncate(time.Microsecond),
	}
	return row, material{signer: signer, public: pub}, nil
}

// openKey decrypts and checks a stored key. The public JWK we publish is
// derived from the authenticated private key; the stored PublicJWK column,
// which no AEAD protects, must agree with it.
func openKey(ring *secret.Keyring, row storage.SigningKey) (material, error) {
	if row.Use != "" && row.Use != useSig {
		return material{}, fmt.Errorf("keys: key %s: use %q is not %q", row.KID, row.Use, useSig)
	}
	if !IsSupported(row.Alg) {
		return material{}, fmt.Errorf("keys: key %s: %w %q", row.KID, ErrUnsupportedAlgorithm, row.Alg)
	}
	pt, err := ring.Open(row.PrivateEnc, sealAAD(row.KID))
	if err != nil {
		return material{}, fmt.Errorf("keys: decrypt private key %s (%s): %w", row.KID, row.Alg, err)
	}
	defer clear(pt)
	var jwk jose.JSONWebKey
	if err := json.Unmarshal(pt, &jwk); err != nil {
		// The JSON decoder error can quote input; do not wrap it.
		return material{}, fmt.Errorf("keys: key %s: decrypted private key is not a valid JWK", row.KID)
	}
	if jwk.KeyID != row.KID || jwk.Algorithm != row.Alg {
		return material{}, fmt.Errorf("keys: key %s: sealed JWK is for kid %q alg %q, row says alg %q", row.KID, jwk.KeyID, jwk.Algorithm, row.Alg)
	}
	signer, ok := jwk.Key.(crypto.Signer)
	if !ok || jwk.IsPublic() {
		return material{}, fmt.Errorf("keys: key %s: sealed JWK holds no private key", row.KID)
	}
	if err := checkSigner(row.Alg, signer); err != nil {
		return material{}, fmt.Errorf("keys: key %s: %w", row.KID, err)
	}
	if k, ok := signer.(*rsa.PrivateKey); ok {
		// Builds the CRT values once instead of on every signature.
		k.Precompute()
	}
	kid, err := kidOf(signer.Public())
	if err != nil {
		return material{}, err
	}
	if kid != row.KID {
		return material{}, fmt.Errorf("keys: key %s: kid is not the thumbprint of its key", row.KID)
	}
	pub := publicJWK(signer, kid, row.Alg)
	if len(row.PublicJWK) > 0 {
		var stored jose.JSONWebKey
		if err := json.Unmarshal(row.PublicJWK, &stored); err != nil {
			return material{}, fmt.Errorf("keys: key %s: stored public JWK is invalid: %w", row.KID, err)
		}
		storedKID, err := kidOf(stored.Key)
		if err != nil || !stored.IsPublic() || storedKID != kid {
			return material{}, fmt.Errorf("keys: key %s: stored public JWK does not match the private key", row.KID)
		}
	}
	return material{signer: signer, public: pub}, nil
}

// marshalJWKS serializes the public keys as a JWK Set (RFC 7517 §5).
func marshalJWKS(pubs []jose.JSONWebKey) ([]byte, error) {
	set := jose.JSONWebKeySet{Keys: pubs}
	if set.Keys == nil {
		set.Keys = []jose.JSONWebKey{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(set); err != nil {
		return nil, fmt.Errorf("keys: marshal JWKS: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/ory/fosite"
	"github.com/ory/fosite/token/jwt"

	"github.com/sesameauth/sesame/internal/keys"
)

// jwtSigner is our fosite jwt.Signer. fosite's DefaultSigner signs and
// verifies with the one key its getter returns now, so tokens signed before
// a rotation stop verifying (FOSITE.md §1.3). This signer signs with the
// active key of its algorithm (go-jose v4, kid in the header) and verifies
// by kid against every published key, allowing only asymmetric algorithms
// (never "none" or HMAC).
type jwtSigner struct {
	keys *keys.Manager
	// alg picks the signing algorithm of one token.
	alg func(ctx context.Context, header jwt.Mapper) string
	// verified skips re-verifying a token seen before (verifycache.go);
	// nil = off. Only the access-token verifier has one.
	verified *verifiedCache
}

var _ jwt.Signer = (*jwtSigner)(nil)

// verifyAlgs are the algorithms a token we verify may use.
var verifyAlgs = func() []jose.SignatureAlgorithm {
	var out []jose.SignatureAlgorithm
	for _, a := range keys.Supported() {
		out = append(out, jose.SignatureAlgorithm(a))
	}
	return out
}()

// Generate signs claims. Headers from fosite (typ at+jwt for access tokens)
// are kept except alg and kid, which come from the key.
func (s *jwtSigner) Generate(ctx context.Context, claims jwt.MapClaims, header jwt.Mapper) (string, string, error) {
	if claims == nil || header == nil {
		return "", "", errors.New("oauth: sign: claims or header is nil")
	}
	alg := s.alg(ctx, header)
	key, err := s.keys.Active(ctx, alg)
	if err != nil {
		return "", "", fmt.Errorf("oauth: sign: active %s key: %w", alg, err)
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	for k, v := range header.ToMap() {
		if k == "alg" || k == "kid" {
			continue
		}
		opts = opts.WithHeader(jose.HeaderKey(k), v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.SignatureAlgorithm(key.Alg),
		Key:       jose.JSONWebKey{Key: key.Signer, KeyID: key.KID, Algorithm: key.Alg},
	}, opts)
	if err != nil {
		return "", "", fmt.Errorf("oauth: sign: %w", err)
	}
	payload, err := json.Marshal(map[string]any(claims))
	if err != nil {
		return "", "", fmt.Errorf("oauth: sign: claims: %w", err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", "", fmt.Errorf("oauth: sign: %w", err)
	}
	token, err := obj.CompactSerialize()
	if err != nil {
		return "", "", fmt.Errorf("oauth: sign: serialize: %w", err)
	}
	return token, lastSegment(token), nil
}

// Validate verifies token and returns its signature segment.
func (s *jwtSigner) Validate(ctx context.Context, token string) (string, error) {
	if _, err := s.Decode(ctx, token); err != nil {
		return "", err
	}
	return lastSegment(token), nil
}

// Decode verifies the signature with the published key named by kid and
// validates exp/iat/nbf. Like fosite's signer it returns the token together
// with a *jwt.ValidationError when only the claims are invalid (callers
// accept an expired id_token_hint).
func (s *jwtSigner) Decode(ctx context.Context, token string) (*jwt.Token, error) {
	if v, ok := s.verified.get(token); ok {
		// The signature verified before; the key must still be published
		// (a withdrawn key withdraws its tokens) and the claims valid now.
		if _, err := s.keys.Lookup(ctx, v.kid); err == nil {
			alg, _ := v.header["alg"].(string)
			t := &jwt.Token{Header: v.header, Claims: v.claims, Method: v3Algorithm(alg)}
			if err := v.claims.Valid(); err != nil {
				return t, err
			}
			return t, nil
		}
	}
	jws, err := jose.ParseSignedCompact(token, verifyAlgs)
	if err != nil {
		return nil, &jwt.ValidationError{Errors: jwt.ValidationErrorMalformed, Inner: err}
	}
	if len(jws.Signatures) != 1 {
		return nil, &jwt.ValidationError{Errors: jwt.ValidationErrorMalformed, Inner: errors.New("exactly one signature expected")}
	}
	h := jws.Signatures[0].Header
	key, err := s.keys.Lookup(ctx, h.KeyID)
	if errors.Is(err, keys.ErrUnknownKey) {
		return nil, &jwt.ValidationError{Errors: jwt.ValidationErrorUnverifiable, Inner: err}
	} else if err != nil {
		return nil, fmt.Errorf("oauth: verify: key lookup: %w", err)
	}
	if key.Alg != h.Algorithm {
		return nil, &jwt.ValidationError{Errors: jwt.ValidationErrorSignatureInvalid, Inner: fmt.Errorf("alg %q does not match key %s (%s)", h.Algorithm, key.KID, key.Alg)}
	}
	payload, err := jws.Verify(key.Public.Key)
	if err != nil {
		return nil, &jwt.ValidationError{Errors: jwt.ValidationErrorSignatureInvalid, Inner: err}
	}
	claims := jwt.MapClaims{}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, &jwt.ValidationError{Errors: jwt.ValidationErrorClaimsInvalid, Inner: err}
	}
	hdr := map[string]any{"alg": h.Algorithm, "kid": h.KeyID}
	for k, v := range h.ExtraHeaders {
		hdr[string(k)] = v
	}
	t := &jwt.Token{Header: hdr, Claims: claims, Method: v3Algorithm(h.Algorithm)}
	if err := claims.Valid(); err != nil {
		return t, err
	}
	s.verified.put(token, t, key.KID)
	return t, nil
}

func (s *jwtSigner) Hash(_ context.Context, in []byte) ([]byte, error) {
	sum := sha256.Sum256(in)
	return sum[:], nil
}

func (s *jwtSigner) GetSignature(_ context.Context, token string) (string, error) {
	if strings.Count(token, ".") != 2 {
		return "", errors.New("oauth: token is not a compact JWS")
	}
	return lastSegment(token), nil
}

func (s *jwtSigner) GetSigningMethodLength(context.Context) int { return sha256.Size }

// lastSegment returns what follows the last dot: the JWS signature of a JWT
// and the HMAC of an opaque fosite token alike.
func lastSegment(token string) string {
	if i := strings.LastIndexByte(token, '.'); i >= 0 {
		return token[i+1:]
	}
	return ""
}

// idTokenAlg picks the ID token algorithm: the alg the token endpoint put
// into the session's ID-token header (per-client
// id_token_signed_response_alg; it also drives at_hash, FOSITE.md §1.3),
// else the client of the request in ctx, else the server default.
func (h *Handler) idTokenAlg(ctx context.Context, header jwt.Mapper) string {
	if hd, ok := header.(*jwt.Headers); ok {
		if a, ok := hd.Extra["alg"].(string); ok && h.algInUse(a) {
			return a
		}
	}
	if ar, ok := ctx.Value(fosite.AccessRequestContextKey).(fosite.Requester); ok && ar.GetClient() != nil {
		return h.clientIDTokenAlg(ar.GetClient())
	}
	if ar, ok := ctx.Value(fosite.AuthorizeRequestContextKey).(fosite.Requester); ok && ar.GetClient() != nil {
		return h.clientIDTokenAlg(ar.GetClient())
	}
	return h.cfg.IDTokenSigningAlg
}

// clientIDTokenAlg is the client's registered ID token alg when usable.
func (h *Handler) clientIDTokenAlg(c fosite.Client) string {
	if cl, ok := c.(*Client); ok && cl.c.IDTokenSignedResponseAlg != "" && h.algInUse(cl.c.IDTokenSignedResponseAlg) {
		return cl.c.IDTokenSignedResponseAlg
	}
	return h.cfg.IDTokenSigningAlg
}

// algInUse reports whether the key manager has an active key for alg.
func (h *Handler) algInUse(alg string) bool {
	return slices.Contains(h.idAlgs, alg)
}

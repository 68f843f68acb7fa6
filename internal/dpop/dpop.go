package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Error codes of RFC 9449 §7.1 and §8.
const (
	CodeInvalidProof = "invalid_dpop_proof"
	CodeUseNonce     = "use_dpop_nonce"
)

// Header is the request header carrying a proof (RFC 9449 §4.1).
const Header = "DPoP"

// MaxProofSize bounds the header we parse: an RSA-4096 jwk plus claims is
// under 2 KB.
const MaxProofSize = 4096

// DefaultWindow is how old a proof's iat may be (RFC 9449 §11.1: "a few
// seconds or minutes"). The replay cache keeps each jti until then, so a
// proof can never be accepted twice.
const DefaultWindow = 60 * time.Second

// FutureSkew is how far iat may lie ahead of the server's clock. It is
// kept small: a proof dated in the future occupies the replay cache longer
// (replay.go), and clients with badly set clocks should use the nonce.
const FutureSkew = 15 * time.Second

// Algorithms are the proof algorithms accepted by default, cheapest to
// verify first (discovery's dpop_signing_alg_values_supported). Only
// asymmetric ones: RFC 9449 §4.2 forbids "none" and MACs.
var Algorithms = []string{"ES256", "EdDSA", "ES384", "RS256", "PS256"}

// minRSABits refuses toy RSA keys (RFC 7518 §3.3).
const minRSABits = 2048

// Error is a refused proof. Description is safe to send to the client.
type Error struct {
	Code        string // CodeInvalidProof or CodeUseNonce
	Description string
}

func (e *Error) Error() string { return "dpop: " + e.Code + ": " + e.Description }

func invalid(format string, args ...any) error {
	return &Error{Code: CodeInvalidProof, Description: fmt.Sprintf(format, args...)}
}

// IsNonceError reports whether err asks the client to retry with the
// server's nonce (RFC 9449 §8).
func IsNonceError(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == CodeUseNonce
}

// Proof is a verified DPoP proof.
type Proof struct {
	// JKT is the RFC 7638 SHA-256 thumbprint of the proof's key,
	// base64url: the value of cnf.jkt (RFC 9449 §6.1).
	JKT      string
	JTI      string
	IssuedAt time.Time
}

// Verifier checks proofs (RFC 9449 §4.3). It is safe for concurrent use.
type Verifier struct {
	algs   []jose.SignatureAlgorithm
	window time.Duration
	replay *ReplayCache
	nonces *Nonces
	now    func() time.Time
}

// Options configure a Verifier. Zero values take the defaults.
type Options struct {
	// Algorithms accepted (subset of Algorithms); default Algorithms.
	Algorithms []string
	// Window is the allowed distance of iat from now; default DefaultWindow.
	Window time.Duration
	// Replay remembers jtis; default a ReplayCache of DefaultReplaySize.
	Replay *ReplayCache
	// Nonces, when set, makes a server nonce (RFC 9449 §8) mandatory.
	Nonces *Nonces
	Now    func() time.Time
}

// NewVerifier returns a Verifier; it fails on an unknown algorithm.
func NewVerifier(o Options) (*Verifier, error) {
	v := &Verifier{window: o.Window, replay: o.Replay, nonces: o.Nonces, now: o.Now}
	if v.window <= 0 {
		v.window = DefaultWindow
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.replay == nil {
		v.replay = NewReplayCache(DefaultReplaySize, v.now)
	}
	names := o.Algorithms
	if len(names) == 0 {
		names = Algorithms
	}
	for _, n := range names {
		if !contains(Algorithms, n) {
			return nil, fmt.Errorf("dpop: unsupported algorithm %q", n)
		}
		v.algs = append(v.algs, jose.SignatureAlgorithm(n))
	}
	return v, nil
}

// AlgorithmNames are the accepted algorithms, for discovery.
func (v *Verifier) AlgorithmNames() []string {
	out := make([]string, len(v.algs))
	for i, a := range v.algs {
		out[i] = string(a)
	}
	return out
}

// Nonces returns the nonce source, or nil when nonces are off.
func (v *Verifier) Nonces() *Nonces { return v.nonces }

// Check is what a proof must match.
type Check struct {
	Method string // the HTTP method (htm)
	URL    string // the target URI (htu), compared without query and fragment
	// AccessToken, when set, must be hashed in ath (RFC 9449 §4.2: proofs
	// presented with an access token at a resource).
	AccessToken string
	// JKT, when set, must be the proof key's thumbprint (the token's
	// cnf.jkt); checked before the jti is remembered.
	JKT string
}

// FromRequest returns the single DPoP header of r. present is false when
// there is none; more than one is an error (RFC 9449 §4.3 step 1).
func FromRequest(r *http.Request) (proof string, present bool, err error) {
	vals := r.Header.Values(Header)
	switch len(vals) {
	case 0:
		return "", false, nil
	case 1:
		return vals[0], true, nil
	}
	return "", true, invalid("more than one DPoP header")
}

// Verify checks proof against c (RFC 9449 §4.3, steps 2-12) and remembers
// its jti: the same proof is refused the second time. Cost: one signature
// verification and one SHA-256 of the key.
func (v *Verifier) Verify(proof string, c Check) (*Proof, error) {
	if proof == "" || len(proof) > MaxProofSize {
		return nil, invalid("the DPoP proof is empty or too large")
	}
	jws, err := jose.ParseSignedCompact(proof, v.algs)
	if err != nil {
		return nil, invalid("the DPoP proof is not a JWS with a supported algorithm")
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "dpop+jwt" {
		return nil, invalid("the DPoP proof's typ is not dpop+jwt")
	}
	jwk := h.JSONWebKey
	// go-jose refuses private material in the jwk header; check anyway.
	if jwk == nil || !jwk.IsPublic() || !jwk.Valid() {
		return nil, invalid("the DPoP proof has no valid public jwk")
	}
	if !keyFitsAlg(jwk.Key, h.Algorithm) {
		return nil, invalid("the DPoP proof's jwk does not fit its alg")
	}
	payload, err := jws.Verify(jwk)
	if err != nil {
		return nil, invalid("the DPoP proof's signature does not verify")
	}
	var cl struct {
		JTI   string          `json:"jti"`
		HTM   string          `json:"htm"`
		HTU   string          `json:"htu"`
		IAT   json.Number     `json:"iat"`
		ATH   string          `json:"ath"`
		Nonce json.RawMessage `json:"nonce"`
	}
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.UseNumber()
	if err := dec.Decode(&cl); err != nil {
		return nil, invalid("the DPoP proof's claims are not a JSON object")
	}
	if cl.JTI == "" || cl.HTM == "" || cl.HTU == "" || cl.IAT == "" {
		return nil, invalid("the DPoP proof lacks jti, htm, htu or iat")
	}
	if len(cl.JTI) > 256 {
		return nil, invalid("the DPoP proof's jti is too long")
	}
	if cl.HTM != c.Method {
		return nil, invalid("the DPoP proof is for another method")
	}
	want, err := NormalizeHTU(c.URL)
	if err != nil {
		return nil, fmt.Errorf("dpop: target URL %q: %w", c.URL, err)
	}
	if got, err := NormalizeHTU(cl.HTU); err != nil || got != want {
		return nil, invalid("the DPoP proof is for another URL")
	}
	iatF, err := cl.IAT.Float64()
	if err != nil {
		return nil, invalid("the DPoP proof's iat is not a number")
	}
	iat := time.Unix(int64(iatF), 0)
	now := v.now()
	if iat.Before(now.Add(-v.window)) || iat.After(now.Add(FutureSkew)) {
		return nil, invalid("the DPoP proof's iat is outside the accepted window")
	}
	if v.nonces != nil {
		var n string
		if len(cl.Nonce) == 0 || json.Unmarshal(cl.Nonce, &n) != nil || !v.nonces.Valid(n) {
			return nil, &Error{Code: CodeUseNonce, Description: "a DPoP nonce from the server is required"}
		}
	}
	if c.AccessToken != "" {
		if subtle.ConstantTimeCompare([]byte(cl.ATH), []byte(AccessTokenHash(c.AccessToken))) != 1 {
			return nil, invalid("the DPoP proof's ath does not match the access token")
		}
	}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, invalid("the DPoP proof's jwk has no thumbprint")
	}
	jkt := base64.RawURLEncoding.EncodeToString(tp)
	if c.JKT != "" && subtle.ConstantTimeCompare([]byte(jkt), []byte(c.JKT)) != 1 {
		return nil, invalid("the DPoP proof's key is not the key the token is bound to")
	}
	// Last: only a proof that passed every other check uses cache space.
	// The key includes the thumbprint, so one client cannot block another
	// client's jti.
	if !v.replay.Claim(jkt+"|"+cl.JTI, iat.Add(v.window)) {
		return nil, invalid("the DPoP proof was already used")
	}
	return &Proof{JKT: jkt, JTI: cl.JTI, IssuedAt: iat}, nil
}

// keyFitsAlg refuses a jwk of another family than alg, and small RSA keys.
func keyFitsAlg(key any, alg string) bool {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		return (alg == "ES256" && k.Curve.Params().BitSize == 256) || (alg == "ES384" && k.Curve.Params().BitSize == 384)
	case ed25519.PublicKey:
		return alg == "EdDSA"
	case *rsa.PublicKey:
		return (alg == "RS256" || alg == "PS256") && k.N.BitLen() >= minRSABits
	}
	return false
}

// AccessTokenHash is ath: base64url(SHA-256(ASCII token)) (RFC 9449 §4.2).
func AccessTokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// NormalizeHTU returns u without query and fragment, with scheme and host
// lower-cased and a default port dropped (RFC 9449 §4.3 step 9, RFC 3986
// §6.2.2 and §6.2.3), and an empty path as "/".
func NormalizeHTU(u string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	if p.Scheme == "" || p.Host == "" {
		return "", errors.New("not an absolute URL")
	}
	scheme := strings.ToLower(p.Scheme)
	host := strings.ToLower(p.Hostname())
	port := p.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	path := p.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

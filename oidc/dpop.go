package oidc

import (
	"net/http"
	"strings"

	"github.com/sesameauth/sesame/internal/dpop"
)

// checkDPoP enforces RFC 9449 §7 at /userinfo after the token was found
// active (jkt: its cnf.jkt from oauth.VerifyAccessToken): a DPoP-bound token (cnf.jkt) must come with the DPoP scheme and a
// proof for this request by the bound key, hashing the token in ath; a
// bound token presented as Bearer is refused with a DPoP challenge, and so
// is the DPoP scheme with an unbound token. The verifier (and its jti
// replay cache) is the token endpoint's. It reports whether to go on; if
// not, the answer was written.
func (h *Handler) checkDPoP(w http.ResponseWriter, r *http.Request, token string, dpopScheme bool, jkt string) bool {
	if jkt == "" && !dpopScheme {
		return true // a plain bearer token
	}
	v := h.oauth.DPoPVerifier()
	refuse := func(code, desc string) bool {
		w.Header().Set("WWW-Authenticate", h.dpopChallenge(code, desc))
		if code == dpop.CodeUseNonce {
			w.Header().Set("DPoP-Nonce", v.Nonces().Current())
		}
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": code, "error_description": desc})
		return false
	}
	if jkt == "" {
		return refuse("invalid_token", "The access token is not DPoP-bound; use the Bearer scheme.")
	}
	if !dpopScheme {
		return refuse("invalid_token", "The access token is DPoP-bound; present it with the DPoP scheme and a proof.")
	}
	raw, present, err := dpop.FromRequest(r)
	if err == nil && !present {
		return refuse(dpop.CodeInvalidProof, "A DPoP proof is required.")
	}
	if err == nil {
		_, err = v.Verify(raw, dpop.Check{Method: r.Method, URL: h.issuer + PathUserinfo, AccessToken: token, JKT: jkt})
	}
	if err != nil {
		e, ok := err.(*dpop.Error)
		if !ok {
			h.log.ErrorContext(r.Context(), "oidc: userinfo dpop", "err", err)
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
			return false
		}
		return refuse(e.Code, e.Description)
	}
	return true
}

// dpopChallenge is the RFC 9449 §7.1 WWW-Authenticate challenge.
func (h *Handler) dpopChallenge(code, desc string) string {
	params := []string{`algs="` + strings.Join(h.oauth.DPoPVerifier().AlgorithmNames(), " ") + `"`}
	if code != "" {
		params = append(params, `error="`+code+`"`, `error_description="`+strings.ReplaceAll(desc, `"`, `'`)+`"`)
	}
	return "DPoP " + strings.Join(params, ", ")
}

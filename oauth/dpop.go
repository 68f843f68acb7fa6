package oauth

import (
	"errors"
	"net/http"

	"github.com/ory/fosite"

	"github.com/sesameauth/sesame/internal/dpop"
)

// DPoP (RFC 9449) at the token endpoint. fosite v0.49 has no DPoP support,
// so the proof is checked here, before fosite sees the request, and the
// binding is applied around it (token.go exchange):
//
//   - a request with a valid proof gets token_type DPoP and an access token
//     bound to the proof key: cnf.jkt in the JWT (Session.GetJWTClaims), and
//     the thumbprint in the sealed session of opaque tokens and refresh
//     tokens, so introspection answers cnf for both formats;
//   - a refresh token issued to a public client with a proof is bound to
//     that key (§5): refreshing it needs a proof by the same key;
//     confidential clients authenticate, so their refresh tokens are not
//     bound and each refresh may bind the new access token to any key;
//   - an invalid proof is invalid_dpop_proof (§7.1); with server nonces on,
//     a missing or old nonce is use_dpop_nonce with a DPoP-Nonce header (§8).
//
// The cost for a client_credentials token is one signature verification
// and one SHA-256; the replay cache is in memory (internal/dpop).

// DPoPVerifier is the proof verifier this handler uses, shared with
// /userinfo (package oidc) so a proof is never accepted at both.
func (h *Handler) DPoPVerifier() *dpop.Verifier { return h.dpop }

// TokenTypeDPoP is the token_type of a DPoP-bound access token (§5).
const TokenTypeDPoP = "DPoP"

// errDPoP is the protocol error of a refused proof.
func errDPoP(err error) *fosite.RFC6749Error {
	var e *dpop.Error
	code, desc := dpop.CodeInvalidProof, "The DPoP proof is invalid."
	if errors.As(err, &e) {
		code, desc = e.Code, e.Description
	}
	return &fosite.RFC6749Error{ErrorField: code, DescriptionField: desc, CodeField: http.StatusBadRequest}
}

// tokenProof verifies the DPoP header of a token request, if any, and
// records the proof key in st. It returns the protocol error to answer.
func (h *Handler) tokenProof(w http.ResponseWriter, r *http.Request, st *reqState) error {
	raw, present, err := dpop.FromRequest(r)
	if err == nil && !present {
		return nil
	}
	var p *dpop.Proof
	if err == nil {
		p, err = h.dpop.Verify(raw, dpop.Check{Method: http.MethodPost, URL: h.cfg.Issuer + PathToken})
	}
	if err != nil {
		if n := h.dpop.Nonces(); n != nil {
			w.Header().Set("DPoP-Nonce", n.Current())
		}
		return errDPoP(err)
	}
	st.mu.Lock()
	st.dpopJKT = p.JKT
	st.mu.Unlock()
	return nil
}

// bindDPoP applies the proof of this request to the session being issued
// (after fosite validated the grant, before it issues anything). A refresh
// token bound to a key (public clients) needs a proof by that key.
func bindDPoP(ar fosite.AccessRequester, s *Session, st *reqState) error {
	st.mu.Lock()
	jkt := st.dpopJKT
	st.mu.Unlock()
	if ar.GetGrantTypes().ExactOne("refresh_token") && s.DPoPJKT != "" && ar.GetClient().IsPublic() {
		if jkt == "" {
			return errDPoP(&dpop.Error{Code: dpop.CodeInvalidProof, Description: "The refresh token is bound to a DPoP key: a proof is required."})
		}
		if jkt != s.DPoPJKT {
			return errDPoP(&dpop.Error{Code: dpop.CodeInvalidProof, Description: "The refresh token is bound to another DPoP key."})
		}
	}
	s.DPoPJKT = jkt
	return nil
}

// proofJKT is the thumbprint of this request's verified proof, or "".
func (st *reqState) proofJKT() string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.dpopJKT
}

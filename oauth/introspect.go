package oauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/ory/fosite"
)

// introspection is the RFC 7662 §2.2 response of an active token.
type introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Username  string   `json:"username,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	TokenUse  string   `json:"token_use,omitempty"`
	Exp       int64    `json:"exp,omitempty"`
	Iat       int64    `json:"iat,omitempty"`
	Sub       string   `json:"sub,omitempty"`
	Aud       []string `json:"aud,omitempty"`
	Iss       string   `json:"iss,omitempty"`
	Jti       string   `json:"jti,omitempty"`
	Groups    []string `json:"groups,omitempty"`
	// Cnf is the key a DPoP-bound token is bound to (RFC 9449 §6.2).
	Cnf *confirmation `json:"cnf,omitempty"`
	// Act is the actor of a delegated token (RFC 8693 §4.1).
	Act *Actor `json:"act,omitempty"`
	// How the user signed in (SPEC part two), for resource servers that
	// demand two factors.
	AMR []string `json:"amr,omitempty"`
	ACR string   `json:"acr,omitempty"`
}

// confirmation is the RFC 7800 cnf member with the RFC 9449 jkt.
type confirmation struct {
	JKT string `json:"jkt"`
}

// introspect is POST /oauth2/introspect (RFC 7662). The caller
// authenticates as a registered confidential client with any token
// endpoint method (basic, post, private_key_jwt); fosite's own
// introspection request handler only knows Basic and bearer tokens, so the
// client is authenticated here and the token checked with
// fosite.IntrospectToken (stateful: revocation is seen).
//
// Policy (SPEC): a client may introspect its own tokens; others' only with
// sesame:introspect among its allowed scopes. Anything else, and any
// revoked, expired or unknown token, is {"active": false}.
func (h *Handler) introspect(c *gin.Context) {
	r, w := c.Request, c.Writer
	ctx, st := withState(r.Context())
	if err := r.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		h.provider.WriteIntrospectionError(ctx, w, fosite.ErrInvalidRequest.WithHint("Unable to parse the request body."))
		return
	}
	caller, err := h.provider.AuthenticateClient(ctx, r, r.PostForm)
	if err == nil && caller.IsPublic() {
		err = fosite.ErrInvalidClient.WithHint("Public clients cannot introspect tokens.")
	}
	if err != nil {
		err = h.correctError(ctx, st, err)
		switch {
		case errors.Is(err, fosite.ErrTemporarilyUnavailable):
			// WriteIntrospectionError would answer {"active": false}.
			h.provider.WriteAccessError(ctx, w, nil, err)
			return
		case errors.Is(err, fosite.ErrInvalidRequest):
			h.provider.WriteIntrospectionError(ctx, w, err)
			return
		}
		// RFC 7662 §2.1: a failed caller authentication is 401.
		h.provider.WriteAccessError(ctx, w, nil, fosite.ErrInvalidClient.WithWrap(err))
		return
	}
	token := r.PostForm.Get("token")
	if token == "" {
		h.provider.WriteIntrospectionError(ctx, w, fosite.ErrInvalidRequest.WithHint("The 'token' parameter is missing."))
		return
	}
	use := fosite.TokenUse(r.PostForm.Get("token_type_hint"))
	tu, ar, err := h.provider.IntrospectToken(ctx, token, use, newSession("", "", ""))
	if serr := st.storeFailure(); serr != nil {
		h.logger.ErrorContext(ctx, "oauth: introspection storage failure", "err", serr)
		h.provider.WriteAccessError(ctx, w, nil, fosite.ErrTemporarilyUnavailable)
		return
	}
	if err != nil {
		h.writeInactive(w)
		return
	}
	owner := ar.GetClient().GetID()
	if owner != caller.GetID() && !slices.Contains(caller.GetScopes(), ScopeIntrospect) {
		h.writeInactive(w)
		return
	}
	sess := sessionOf(ar)
	resp := introspection{
		Active:   true,
		Scope:    strings.Join(ar.GetGrantedScopes(), " "),
		ClientID: owner,
		Username: sess.GetUsername(),
		Sub:      sess.GetSubject(),
		Aud:      ar.GetGrantedAudience(),
		Iss:      h.cfg.Issuer,
		TokenUse: string(tu),
		Groups:   sess.Groups(),
		Act:      sess.Act,
	}
	resp.AMR, resp.ACR = sess.Authentication()
	if !ar.GetRequestedAt().IsZero() {
		resp.Iat = ar.GetRequestedAt().Unix()
	}
	switch tu {
	case fosite.AccessToken:
		resp.TokenType = "Bearer"
		if sess.DPoPJKT != "" {
			resp.TokenType = TokenTypeDPoP
			resp.Cnf = &confirmation{JKT: sess.DPoPJKT}
		}
		resp.Exp = sess.GetExpiresAt(fosite.AccessToken).Unix()
		if sess.AccessTokenFormat == FormatJWT {
			resp.Jti = sess.AccessTokenJTI
		}
	case fosite.RefreshToken:
		resp.TokenType = "refresh_token"
		if e := sess.GetExpiresAt(fosite.RefreshToken); !e.IsZero() {
			resp.Exp = e.Unix()
		}
	}
	writeJSONNoStore(w, http.StatusOK, resp)
}

func (h *Handler) writeInactive(w http.ResponseWriter) {
	writeJSONNoStore(w, http.StatusOK, struct {
		Active bool `json:"active"`
	}{})
}

func writeJSONNoStore(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

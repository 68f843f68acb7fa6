package oidc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/oauth"
	"github.com/sesameauth/sesame/storage"
)

// userinfo is GET|POST /userinfo (OIDC Core §5.3). The access token's
// granted scopes decide the claims; errors follow RFC 6750 §3 with a
// WWW-Authenticate challenge.
func (h *Handler) userinfo(c *gin.Context) {
	w, r := c.Writer, c.Request
	token, dpopScheme, ok := bearerToken(r)
	if !ok {
		// RFC 6750 §3.1: no error code when the request had no token.
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+h.issuer+`"`)
		w.Header().Add("WWW-Authenticate", h.dpopChallenge("", ""))
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_request", "error_description": "An access token is required."})
		return
	}
	ctx := r.Context()
	at, err := h.oauth.VerifyAccessToken(ctx, token)
	if errors.Is(err, oauth.ErrInactiveToken) {
		bearerError(w, http.StatusUnauthorized, "invalid_token", "The access token is invalid, expired or revoked.", "")
		return
	}
	if err != nil {
		h.log.ErrorContext(ctx, "oidc: userinfo storage failure", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable"})
		return
	}
	if !h.checkDPoP(w, r, token, dpopScheme, at.DPoPJKT) {
		return
	}
	if !at.HasScope("openid") {
		bearerError(w, http.StatusForbidden, "insufficient_scope", "The access token was not granted the openid scope.", "openid")
		return
	}
	u, err := h.store.GetUser(ctx, at.Subject)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && u.Disabled) {
		bearerError(w, http.StatusUnauthorized, "invalid_token", "The user of this access token no longer exists or is disabled.", "")
		return
	}
	if err != nil {
		h.log.ErrorContext(ctx, "oidc: userinfo load user", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable"})
		return
	}
	groups, err := h.oauth.GroupsFor(ctx, u.ID, at.Scopes)
	if err != nil {
		h.log.ErrorContext(ctx, "oidc: userinfo load groups", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, userClaims(u, at.Scopes, groups))
}

// bearerToken reads the token from the Authorization header (scheme
// Bearer, or DPoP for a DPoP-bound token, RFC 9449 §7.1) or, for a form
// POST, the access_token body parameter (RFC 6750 §2.1, §2.2). Sending it
// both ways is refused (§2: at most one method).
func bearerToken(r *http.Request) (token string, dpopScheme, ok bool) {
	var fromHeader string
	if a := r.Header.Get("Authorization"); a != "" {
		scheme, tok, ok := strings.Cut(a, " ")
		dpopScheme = strings.EqualFold(scheme, "DPoP")
		if !ok || !(strings.EqualFold(scheme, "Bearer") || dpopScheme) || strings.TrimSpace(tok) == "" {
			return "", false, false
		}
		fromHeader = strings.TrimSpace(tok)
	}
	var fromBody string
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		fromBody = r.PostFormValue("access_token")
	}
	switch {
	case fromHeader != "" && fromBody != "":
		return "", false, false
	case fromHeader != "":
		return fromHeader, dpopScheme, true
	case fromBody != "":
		return fromBody, false, true
	}
	return "", false, false
}

func bearerError(w http.ResponseWriter, status int, code, desc, scope string) {
	v := fmt.Sprintf(`Bearer error=%q, error_description=%q`, code, desc)
	if scope != "" {
		v += fmt.Sprintf(`, scope=%q`, scope)
	}
	w.Header().Set("WWW-Authenticate", v)
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

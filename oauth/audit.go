package oauth

import (
	"context"
	"net/http"
	"strings"

	"github.com/ory/fosite"

	"github.com/sesameauth/sesame/internal/httpx"
	"github.com/sesameauth/sesame/storage"
)

// Audit of the token endpoints. Issuing a token happens on every token
// request, so it is recorded as a structured log line only ("audit" message,
// type token.issued): a store write per request would double the endpoint's
// database work. The rarer events that matter afterwards are also appended
// to the audit store: a refresh (token.refreshed), a revocation
// (token.revoked), and failed authentications (throttle.go:
// client.auth_failed, user.login with outcome failure, auth.locked). Tokens
// themselves are never logged or stored in the audit trail.
const (
	auditTokenIssued    = "token.issued"
	auditTokenRefreshed = "token.refreshed"
	auditTokenRevoked   = "token.revoked"
)

// auditIssued records a successful token response.
func (h *Handler) auditIssued(ctx context.Context, r *http.Request, ar fosite.AccessRequester) {
	grant := strings.Join(ar.GetGrantTypes(), " ")
	sub := ""
	if s, ok := ar.GetSession().(*Session); ok {
		sub = s.GetSubject()
	}
	ip := httpx.RequestIP(r)
	h.logger.InfoContext(ctx, "audit", "type", auditTokenIssued, "client_id", ar.GetClient().GetID(),
		"grant_type", grant, "sub", sub, "scope", strings.Join(ar.GetGrantedScopes(), " "), "ip", ip, "outcome", "success")
	// A refresh's audit row is written in its rotation's transaction
	// (store_tokens.go CreateRefreshTokenSession).
}

// auditRevoked records a revocation request the endpoint accepted (RFC 7009
// answers 200 for unknown tokens too; the event says which client asked).
func (h *Handler) auditRevoked(ctx context.Context, r *http.Request, err error) {
	if err != nil {
		return
	}
	clientID := submittedClientID(r, r.PostForm)
	ip := httpx.RequestIP(r)
	h.logger.InfoContext(ctx, "audit", "type", auditTokenRevoked, "client_id", clientID, "ip", ip, "outcome", "success")
	h.appendAudit(ctx, storage.AuditEvent{Type: auditTokenRevoked, Actor: "client:" + clientID, ClientID: clientID,
		IP: ip, UserAgent: r.UserAgent(), Outcome: "success",
		Details: map[string]string{"token_type_hint": r.PostForm.Get("token_type_hint")}})
}

func (h *Handler) appendAudit(ctx context.Context, e storage.AuditEvent) {
	e.At = h.now().UTC()
	if len(e.UserAgent) > 256 {
		e.UserAgent = e.UserAgent[:256]
	}
	if err := h.store.AppendAudit(ctx, e); err != nil {
		h.logger.WarnContext(ctx, "oauth: audit", "type", e.Type, "err", err)
	}
}

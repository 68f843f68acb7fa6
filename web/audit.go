package web

import (
	"context"
	"net/http"

	"github.com/sesameauth/sesame/internal/httpx"
	"github.com/sesameauth/sesame/storage"
)

// Audit event types written by the web UI.
const (
	auditLogin         = "user.login"
	auditConsent       = "consent.granted"
	auditConsentDenied = "consent.denied"
	auditLogoutAll     = "user.sessions_revoked"
	auditReauth        = "user.reauthenticated"
	outcomeSuccess     = "success"
	outcomeFailure     = "failure"
	actorAnonymous     = "anonymous"
	userAgentMaxLength = 256
)

// audit appends an event; a failure is logged, never shown, since the
// user's action already happened.
func (h *Handler) audit(ctx context.Context, r *http.Request, typ, userID, clientID, outcome string) {
	actor := actorAnonymous
	if userID != "" {
		actor = "user:" + userID
	}
	ua := r.UserAgent()
	if len(ua) > userAgentMaxLength {
		ua = ua[:userAgentMaxLength]
	}
	e := storage.AuditEvent{At: h.now(), Type: typ, Actor: actor, UserID: userID, ClientID: clientID,
		IP: clientIP(r), UserAgent: ua, Outcome: outcome}
	if err := h.store.AppendAudit(ctx, e); err != nil {
		h.log.WarnContext(ctx, "web: audit", "type", typ, "err", err)
	}
}

// clientIP is the client address as the server resolved it (trusted
// proxies' X-Forwarded-For honoured, httpx.StoreClientIP), so the audit
// trail and the per-IP brute-force counters see the real client, not the
// proxy.
func clientIP(r *http.Request) string { return httpx.RequestIP(r) }

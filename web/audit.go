package web

import (
	"context"
	"net"
	"net/http"

	"github.com/sesameauth/sesame/storage"
)

// Audit event types written by the web UI.
const (
	auditLogin         = "user.login"
	auditConsent       = "consent.granted"
	auditConsentDenied = "consent.denied"
	auditRevoke        = "grant.revoked_by_user"
	auditPassword      = "user.password_changed"
	auditLogoutAll     = "user.sessions_revoked"
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

// clientIP is the peer address. Behind a reverse proxy the server wiring
// is expected to have rewritten RemoteAddr from a trusted header.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

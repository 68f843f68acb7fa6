package security

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
)

// Token exchange (RFC 8693, issue 18): impersonation and delegation (act),
// audience and resource against the client's policy, scope never wider
// than the subject token's, issued_token_type, no refresh token; bad
// inputs answered with the RFC's errors; the audit trail names both parties.

const (
	tokenTypeAT  = "urn:ietf:params:oauth:token-type:access_token"
	tokenTypeJWT = "urn:ietf:params:oauth:token-type:jwt"
)

func exchangeForm(subject string, kv ...string) url.Values {
	f := url.Values{"grant_type": {app.TokenExchangeGrantType}, "subject_token": {subject}, "subject_token_type": {tokenTypeAT}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			f.Del(kv[i])
			continue
		}
		f.Add(kv[i], kv[i+1])
	}
	return f
}

func TestTokenExchange(t *testing.T) {
	backends(t, nil, func(t *testing.T, s *srv) {
		alice := s.user("alice", "correct horse battery")
		s.resource(notesAPI, "Notes", map[string]string{"notes:read": "Read your notes"})
		front, frontSec := s.client(app.ClientSpec{Name: "front", GrantTypes: []string{"password", "refresh_token"},
			Scopes: []string{"openid", "offline_access", "api:read", "api:write"}})
		// The backend exchanges for the reports service and the notes
		// API; its tokens are JWTs, so the act claim is visible.
		backend, backendSec := s.client(app.ClientSpec{Name: "backend", AccessTokenFormat: "jwt",
			GrantTypes: []string{app.TokenExchangeGrantType, "client_credentials"},
			Scopes:     []string{"api:read", "api:write", "profile"}, TokenExchangeAudiences: []string{"urn:reports", notesAPI}})
		// A second hop with opaque tokens: its act is seen by introspection.
		hop, hopSec := s.client(app.ClientSpec{Name: "hop", AccessTokenFormat: "opaque",
			GrantTypes: []string{app.TokenExchangeGrantType, "client_credentials"},
			Scopes:     []string{"api:read"}, TokenExchangeAudiences: []string{"urn:ledger"}})

		login := s.token(url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"correct horse battery"},
			"scope": {"openid offline_access api:read api:write"}}, front.ID, frontSec)
		wantTokens(t, login)
		userAT, userRT := login.str("access_token"), login.str("refresh_token")
		subjectExp := s.introspect(userAT, front.ID, frontSec).json["exp"].(float64)
		serviceAT := func(id, sec string) string {
			r := s.token(url.Values{"grant_type": {"client_credentials"}}, id, sec)
			wantTokens(t, r)
			return r.str("access_token")
		}
		backendAT := serviceAT(backend.ID, backendSec)

		t.Run("discovery lists the grant", func(t *testing.T) {
			d := s.get("/.well-known/oauth-authorization-server")
			gts, _ := d.json["grant_types_supported"].([]any)
			if !slices.Contains(gts, any(app.TokenExchangeGrantType)) {
				t.Fatalf("grant_types_supported %v", gts)
			}
		})

		var delegated string
		t.Run("impersonation narrows audience and scope", func(t *testing.T) {
			r := s.token(exchangeForm(userAT, "audience", "urn:reports", "scope", "api:read"), backend.ID, backendSec)
			wantTokens(t, r)
			if r.str("issued_token_type") != tokenTypeAT || !strings.EqualFold(r.str("token_type"), "bearer") ||
				r.str("refresh_token") != "" || r.str("id_token") != "" || r.str("scope") != "api:read" {
				t.Fatalf("response %s", r.body)
			}
			tok := r.str("access_token")
			c := jwtClaims(t, tok)
			if c["sub"] != alice.ID || c["client_id"] != backend.ID || c["act"] != nil || !sameSet(claimStrings(c["aud"]), []string{"urn:reports"}) {
				t.Fatalf("claims %v", c)
			}
			in := s.introspect(tok, backend.ID, backendSec)
			if in.json["active"] != true || in.str("sub") != alice.ID || in.str("username") != "alice" || in.str("scope") != "api:read" {
				t.Fatalf("introspection %s", in.body)
			}
			// An exchange never extends access.
			if exp := in.json["exp"].(float64); exp > subjectExp {
				t.Fatalf("exchanged token expires at %v, after the subject token (%v)", exp, subjectExp)
			}
		})

		t.Run("no scope asked: the subject's scopes the client may hold; resource is the audience", func(t *testing.T) {
			r := s.token(exchangeForm(userAT, "resource", notesAPI), backend.ID, backendSec)
			wantTokens(t, r)
			if got := strings.Fields(r.str("scope")); !sameSet(got, []string{"api:read", "api:write"}) {
				t.Fatalf("scope %q", r.str("scope"))
			}
			if aud := jwtAud(t, r.str("access_token")); !sameSet(aud, []string{notesAPI}) {
				t.Fatalf("aud %v", aud)
			}
		})

		t.Run("delegation carries act, nested on the next hop", func(t *testing.T) {
			r := s.token(exchangeForm(userAT, "audience", "urn:reports", "actor_token", backendAT, "actor_token_type", tokenTypeAT),
				backend.ID, backendSec)
			wantTokens(t, r)
			delegated = r.str("access_token")
			act, _ := jwtClaims(t, delegated)["act"].(map[string]any)
			if act["sub"] != backend.ID || act["client_id"] != backend.ID || act["act"] != nil {
				t.Fatalf("act %v", act)
			}
			// The delegated token, a JWT, exchanged again by hop with its
			// own actor token: hop is the current actor, backend the prior.
			hopAT := serviceAT(hop.ID, hopSec)
			r = s.token(exchangeForm(delegated, "subject_token_type", "", "subject_token_type", tokenTypeJWT,
				"audience", "urn:ledger", "actor_token", hopAT, "actor_token_type", tokenTypeAT), hop.ID, hopSec)
			wantTokens(t, r)
			tok := r.str("access_token")
			if strings.Count(tok, ".") == 2 {
				t.Fatalf("hop's token should be opaque: %q", tok)
			}
			in := s.introspect(tok, hop.ID, hopSec)
			act, _ = in.json["act"].(map[string]any)
			prior, _ := act["act"].(map[string]any)
			if in.json["active"] != true || in.str("sub") != alice.ID || act["sub"] != hop.ID || prior["sub"] != backend.ID ||
				in.str("scope") != "api:read" {
				t.Fatalf("introspection of the second hop %s", in.body)
			}
			// Impersonating with a delegated token keeps the delegation.
			r = s.token(exchangeForm(delegated, "audience", "urn:reports"), backend.ID, backendSec)
			wantTokens(t, r)
			if act, _ := jwtClaims(t, r.str("access_token"))["act"].(map[string]any); act["sub"] != backend.ID {
				t.Fatalf("act lost by impersonating a delegated token: %v", act)
			}
		})

		t.Run("audit names client, subject and actor", func(t *testing.T) {
			evs, _, err := s.s.Store.ListAudit(s.ctx, storage.AuditFilter{Type: "token.exchanged", ClientID: hop.ID, Limit: 10})
			if err != nil || len(evs) != 1 {
				t.Fatalf("audit: %v %d events", err, len(evs))
			}
			d := evs[0].Details
			if evs[0].UserID != alice.ID || d["client_id"] != hop.ID || d["sub"] != alice.ID || d["actor_sub"] != hop.ID ||
				d["actor_client_id"] != hop.ID || d["mode"] != "delegation" || d["audience"] != "urn:ledger" {
				t.Fatalf("audit event %+v", evs[0])
			}
			if !strings.Contains(string(s.get("/metrics").body), `grant_type="urn:ietf:params:oauth:grant-type:token-exchange"`) {
				t.Fatal("no token metrics for the token exchange grant")
			}
		})

		bad := []struct {
			name         string
			form         url.Values
			id, sec      string
			status       int
			code, detail string
		}{
			{"audience not in the client's policy", exchangeForm(userAT, "audience", "urn:other"), backend.ID, backendSec,
				400, "invalid_target", "urn:other"},
			{"resource not in the client's policy", exchangeForm(userAT, "resource", otherAPI), backend.ID, backendSec,
				400, "invalid_target", otherAPI},
			{"both audience and resource", exchangeForm(userAT, "audience", "urn:reports", "resource", notesAPI), backend.ID, backendSec,
				400, "invalid_request", "either"},
			{"scope wider than the subject token", exchangeForm(userAT, "audience", "urn:reports", "scope", "api:read profile"),
				backend.ID, backendSec, 400, "invalid_scope", "wider"},
			{"scope the client may not hold", exchangeForm(userAT, "audience", "urn:ledger", "scope", "api:write"),
				hop.ID, hopSec, 400, "invalid_scope", "api:write"},
			{"actor token not a token", exchangeForm(userAT, "audience", "urn:reports", "actor_token", "sesame_at_forged.value",
				"actor_token_type", tokenTypeAT), backend.ID, backendSec, 400, "invalid_request", "actor_token"},
			{"actor token of another client", exchangeForm(userAT, "audience", "urn:reports", "actor_token", userAT,
				"actor_token_type", tokenTypeAT), backend.ID, backendSec, 400, "invalid_request", "another client"},
			{"actor token without its type", exchangeForm(userAT, "audience", "urn:reports", "actor_token", backendAT),
				backend.ID, backendSec, 400, "invalid_request", "actor_token_type"},
			{"refresh token as subject", exchangeForm(userRT, "audience", "urn:reports"), backend.ID, backendSec,
				400, "invalid_request", "subject_token"},
			{"opaque token as jwt type", exchangeForm(serviceAT(hop.ID, hopSec), "subject_token_type", "", "subject_token_type", tokenTypeJWT,
				"audience", "urn:reports"), backend.ID, backendSec, 400, "invalid_request", "not a JWT"},
			{"unsupported subject token type", exchangeForm(userAT, "subject_token_type", "", "subject_token_type",
				"urn:ietf:params:oauth:token-type:id_token", "audience", "urn:reports"), backend.ID, backendSec, 400, "invalid_request", "subject_token_type"},
			{"missing subject token", exchangeForm("", "audience", "urn:reports"), backend.ID, backendSec,
				400, "invalid_request", "subject_token"},
			{"refresh token requested", exchangeForm(userAT, "audience", "urn:reports", "requested_token_type",
				"urn:ietf:params:oauth:token-type:refresh_token"), backend.ID, backendSec, 400, "invalid_request", "requested"},
			{"client without the grant type", exchangeForm(userAT, "audience", "urn:reports"), front.ID, frontSec,
				400, "unauthorized_client", "token-exchange"},
		}
		for _, b := range bad {
			t.Run(b.name, func(t *testing.T) {
				r := s.token(b.form, b.id, b.sec)
				wantError(t, r, b.status, b.code)
				if !strings.Contains(r.str("error_description"), b.detail) {
					t.Fatalf("error_description %q should mention %q", r.str("error_description"), b.detail)
				}
			})
		}

		t.Run("revoked subject token", func(t *testing.T) {
			if r := s.post("/oauth2/revoke", url.Values{"token": {userAT}}, front.ID, frontSec); r.status != http.StatusOK {
				t.Fatalf("revoke: %d %s", r.status, r.body)
			}
			r := s.token(exchangeForm(userAT, "audience", "urn:reports"), backend.ID, backendSec)
			wantError(t, r, 400, "invalid_request")
			if !strings.Contains(r.str("error_description"), "revoked") {
				t.Fatalf("error_description %q", r.str("error_description"))
			}
		})
	})
}

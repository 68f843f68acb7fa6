package admin

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
)

func TestAdminAPIRequiresAnAdminBearerToken(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		_, otherToken := e.clientToken("read:things")
		// A revoked admin token must stop working at once.
		revokedID, revokedToken := e.clientToken("sesame:admin")
		if _, err := e.svc.RevokeForClient(context.Background(), "cli", revokedID); err != nil {
			t.Fatal(err)
		}
		// Opaque admin tokens work as well as JWTs.
		opaque, opaqueSecret, err := e.svc.CreateClient(context.Background(), "cli", app.ClientSpec{
			Name: "opaque ops", GrantTypes: []string{"client_credentials"}, Scopes: []string{ScopeAdmin}, AccessTokenFormat: "opaque",
		})
		if err != nil {
			t.Fatal(err)
		}
		opaqueToken := e.ccToken(opaque.ID, opaqueSecret, ScopeAdmin)
		if !strings.HasPrefix(opaqueToken, "sesame_at_") || strings.Count(e.adminToken, ".") != 2 {
			t.Fatalf("want one opaque and one JWT admin token: %q / %q", opaqueToken[:12], e.adminToken[:12])
		}
		// An admin client whose scope was taken away is locked out at once.
		demotedID, demotedToken := e.clientToken("sesame:admin")
		e.do(http.MethodPatch, "/admin/clients/"+demotedID, map[string]any{"scope": "read"}, http.StatusOK)
		tests := []struct {
			name       string
			auth       string
			wantStatus int
			wantCode   string
			wantHeader string
		}{
			{"no credentials", "", http.StatusUnauthorized, "invalid_token", `Bearer realm="sesame-admin"`},
			{"not a bearer scheme", "Basic YWRtaW46YWRtaW4=", http.StatusUnauthorized, "invalid_token", `error="invalid_token"`},
			{"empty bearer", "Bearer ", http.StatusUnauthorized, "invalid_token", `error="invalid_token"`},
			{"forged token", "Bearer sesame_at_forged.value", http.StatusUnauthorized, "invalid_token", `error="invalid_token"`},
			{"malformed jwt", "Bearer a.b.c", http.StatusUnauthorized, "invalid_token", `error="invalid_token"`},
			{"revoked admin token", "Bearer " + revokedToken, http.StatusUnauthorized, "invalid_token", `error="invalid_token"`},
			{"client no longer allowed sesame:admin", "Bearer " + demotedToken, http.StatusForbidden, "insufficient_scope", `error="insufficient_scope"`},
			{"token without sesame:admin", "Bearer " + otherToken, http.StatusForbidden, "insufficient_scope", `error="insufficient_scope"`},
			{"admin JWT access token", "Bearer " + e.adminToken, http.StatusOK, "", ""},
			{"admin opaque access token", "Bearer " + opaqueToken, http.StatusOK, "", ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/admin/clients", nil)
				if tc.auth != "" {
					req.Header.Set("Authorization", tc.auth)
				}
				resp, err := e.http.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if resp.StatusCode != tc.wantStatus {
					t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantStatus)
				}
				if got := resp.Header.Get("WWW-Authenticate"); !strings.Contains(got, tc.wantHeader) || (tc.wantHeader != "" && !strings.HasPrefix(got, "Bearer")) {
					t.Fatalf("WWW-Authenticate %q, want it to contain %q", got, tc.wantHeader)
				}
				if tc.wantCode != "" {
					var body apiError
					r := response{body: readAll(t, resp)}
					r.json(t, &body)
					if body.Code != tc.wantCode || body.Description == "" {
						t.Fatalf("error body %+v, want code %s with a description", body, tc.wantCode)
					}
				}
			})
		}
	})
}

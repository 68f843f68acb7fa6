package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// regResp is the RFC 7591 client information response as a client sees it.
type regResp struct {
	ClientID                string          `json:"client_id"`
	ClientSecret            string          `json:"client_secret"`
	ClientIDIssuedAt        int64           `json:"client_id_issued_at"`
	ClientSecretExpiresAt   *int64          `json:"client_secret_expires_at"`
	RegistrationAccessToken string          `json:"registration_access_token"`
	RegistrationClientURI   string          `json:"registration_client_uri"`
	RedirectURIs            []string        `json:"redirect_uris"`
	GrantTypes              []string        `json:"grant_types"`
	ResponseTypes           []string        `json:"response_types"`
	TokenEndpointAuthMethod string          `json:"token_endpoint_auth_method"`
	ClientName              string          `json:"client_name"`
	Scope                   string          `json:"scope"`
	LogoURI                 string          `json:"logo_uri"`
	Contacts                []string        `json:"contacts"`
	JWKS                    json.RawMessage `json:"jwks"`
	SoftwareID              string          `json:"software_id"`
}

func (e *env) initialAccessToken(maxUses int) string {
	e.t.Helper()
	v, err := app.CreateRegistrationToken(context.Background(), e.st, "cli", app.NewRegistrationToken{ExpiresIn: time.Hour, MaxUses: maxUses}, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return v.Token
}

var webMetadata = map[string]any{
	"client_name": "Partner app", "redirect_uris": []string{"https://partner.example.com/cb"},
	"grant_types": []string{"authorization_code", "refresh_token", "client_credentials"}, "scope": "openid profile offline_access",
	"logo_uri": "https://partner.example.com/logo.png", "contacts": []string{"dev@partner.example.com"},
	"software_id": "partner-app", "client_name#fr": "Appli partenaire", "frobnicate": true,
}

func TestDynamicRegistrationWithInitialAccessToken(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		iat := e.initialAccessToken(1)

		// Without a token (open registration off): 401 and nothing created.
		before := e.snapshot()
		r := e.call(http.MethodPost, PathRegister, "", webMetadata)
		if r.status != http.StatusUnauthorized || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("no token: %d %v", r.status, r.header)
		}
		if r := e.call(http.MethodPost, PathRegister, "sesame_iat_wrong", webMetadata); r.status != http.StatusUnauthorized ||
			!strings.Contains(r.header.Get("WWW-Authenticate"), "invalid_token") {
			t.Fatalf("wrong token: %d", r.status)
		}
		// Invalid metadata does not spend the token's only use.
		if r := e.call(http.MethodPost, PathRegister, iat, map[string]any{"redirect_uris": []string{"javascript:alert(1)"}}); r.status != 400 || r.apiErr(t).Code != "invalid_redirect_uri" {
			t.Fatalf("bad metadata: %d %s", r.status, r.body)
		}
		if after := e.snapshot(); after != before {
			t.Fatalf("refused registrations changed the store: %+v → %+v", before, after)
		}

		r = e.call(http.MethodPost, PathRegister, iat, webMetadata)
		if r.status != http.StatusCreated {
			t.Fatalf("register: %d %s", r.status, r.body)
		}
		if r.header.Get("Cache-Control") != "no-store" {
			t.Fatal("the registration response must not be cached")
		}
		var reg regResp
		r.json(t, &reg)
		if reg.ClientID == "" || len(reg.ClientSecret) != 43 || reg.ClientSecretExpiresAt == nil || *reg.ClientSecretExpiresAt != 0 ||
			reg.ClientIDIssuedAt == 0 || !strings.HasPrefix(reg.RegistrationAccessToken, registrationAccessTokenPrefix) ||
			reg.RegistrationClientURI != e.srv.URL+PathRegister+"/"+reg.ClientID || reg.ClientName != "Partner app" ||
			reg.TokenEndpointAuthMethod != "client_secret_basic" || strings.Join(reg.ResponseTypes, ",") != "code" ||
			reg.LogoURI == "" || len(reg.Contacts) != 1 || reg.SoftwareID != "partner-app" {
			t.Fatalf("registration response %s", r.body)
		}
		stored, err := st.GetClient(ctx, reg.ClientID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.RegistrationTokenHash != secret.HashToken(reg.RegistrationAccessToken) || stored.SkipConsent {
			t.Fatalf("stored client %+v", stored)
		}
		// The initial access token had one use.
		if r := e.call(http.MethodPost, PathRegister, iat, webMetadata); r.status != http.StatusUnauthorized {
			t.Fatalf("used-up token: %d", r.status)
		}

		// RFC 7592 read / update / delete.
		mgmt := PathRegister + "/" + reg.ClientID
		if r := e.call(http.MethodGet, mgmt, "sesame_rat_wrong", nil); r.status != http.StatusUnauthorized ||
			!strings.Contains(r.header.Get("WWW-Authenticate"), "invalid_token") {
			t.Fatalf("wrong registration token: %d", r.status)
		}
		if r := e.call(http.MethodGet, mgmt, e.adminToken, nil); r.status != http.StatusUnauthorized {
			t.Fatalf("an admin token is not a registration token: %d", r.status)
		}
		if r := e.call(http.MethodGet, PathRegister+"/"+e.adminClientID, reg.RegistrationAccessToken, nil); r.status != http.StatusUnauthorized {
			t.Fatalf("another client's registration: %d", r.status)
		}
		var read regResp
		r = e.call(http.MethodGet, mgmt, reg.RegistrationAccessToken, nil)
		if r.status != http.StatusOK {
			t.Fatalf("read: %d %s", r.status, r.body)
		}
		r.json(t, &read)
		// Every read and update rotates the registration access token.
		if read.RegistrationAccessToken == "" || read.RegistrationAccessToken == reg.RegistrationAccessToken {
			t.Fatalf("read did not rotate the registration access token: %s", r.body)
		}
		reg.RegistrationAccessToken = read.RegistrationAccessToken
		if read.ClientID != reg.ClientID || read.ClientSecret != "" || read.Scope != reg.Scope {
			t.Fatalf("read %s", r.body)
		}

		var upd regResp
		r = e.call(http.MethodPut, mgmt, reg.RegistrationAccessToken, map[string]any{
			"client_id": reg.ClientID, "client_secret": reg.ClientSecret, "client_name": "Partner app v2",
			"redirect_uris": []string{"https://partner.example.com/cb2"}, "scope": "openid",
		})
		if r.status != http.StatusOK {
			t.Fatalf("update: %d %s", r.status, r.body)
		}
		r.json(t, &upd)
		reg.RegistrationAccessToken = upd.RegistrationAccessToken
		if upd.ClientName != "Partner app v2" || upd.RedirectURIs[0] != "https://partner.example.com/cb2" ||
			strings.Join(upd.GrantTypes, ",") != "authorization_code" || upd.LogoURI != "" || upd.Scope != "openid" {
			t.Fatalf("update must replace the registered metadata: %s", r.body)
		}
		badUpdates := []struct {
			name     string
			body     map[string]any
			wantCode string
		}{
			{"other client id", map[string]any{"client_id": "other", "redirect_uris": []string{"https://p.example/cb"}}, "invalid_client_metadata"},
			{"wrong secret", map[string]any{"client_secret": "nope", "redirect_uris": []string{"https://p.example/cb"}}, "invalid_client_metadata"},
			{"http redirect", map[string]any{"redirect_uris": []string{"http://partner.example.com/cb"}}, "invalid_redirect_uri"},
			{"admin scope", map[string]any{"redirect_uris": []string{"https://p.example/cb"}, "scope": "sesame:admin"}, "invalid_client_metadata"},
		}
		for _, tc := range badUpdates {
			if r := e.call(http.MethodPut, mgmt, reg.RegistrationAccessToken, tc.body); r.status != 400 || r.apiErr(t).Code != tc.wantCode {
				t.Fatalf("update %s: %d %s", tc.name, r.status, r.body)
			}
		}
		if got, _ := st.GetClient(ctx, reg.ClientID); got.Name != "Partner app v2" {
			t.Fatalf("refused updates changed the client: %+v", got)
		}

		if r := e.call(http.MethodDelete, mgmt, reg.RegistrationAccessToken, nil); r.status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		if _, err := st.GetClient(ctx, reg.ClientID); err == nil {
			t.Fatal("client still exists after RFC 7592 delete")
		}
		if r := e.call(http.MethodGet, mgmt, reg.RegistrationAccessToken, nil); r.status != http.StatusUnauthorized {
			t.Fatalf("read after delete: %d", r.status)
		}

		// Changes are audited as "registration", with where they came from.
		evs, _, err := st.ListAudit(ctx, storage.AuditFilter{ClientID: reg.ClientID})
		if err != nil {
			t.Fatal(err)
		}
		types := map[string]bool{}
		for _, ev := range evs {
			types[ev.Type] = true
			if ev.Actor != actorRegistration || ev.IP == "" || ev.UserAgent != testUA {
				t.Fatalf("audit event %+v", ev)
			}
		}
		if !types["client.created"] || !types["client.updated"] || !types["client.deleted"] {
			t.Fatalf("audit %v", types)
		}
	})
}

func TestDynamicRegistrationRefusesDangerousMetadata(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st, openRegistration)
		with := func(extra map[string]any) map[string]any {
			m := map[string]any{"redirect_uris": []string{"https://app.example.com/cb"}}
			for k, v := range extra {
				m[k] = v
			}
			return m
		}
		tests := []struct {
			name       string
			body       any
			wantStatus int
			wantCode   string
			wantInDesc string
		}{
			{"javascript redirect", with(map[string]any{"redirect_uris": []string{"javascript:alert(1)"}}), 400, "invalid_redirect_uri", "redirect_uris[0]"},
			{"http redirect for a web client", with(map[string]any{"redirect_uris": []string{"http://app.example.com/cb"}}), 400, "invalid_redirect_uri", "https"},
			{"fragment in redirect", with(map[string]any{"redirect_uris": []string{"https://app.example.com/cb#x"}}), 400, "invalid_redirect_uri", "fragment"},
			{"data: post-logout redirect", with(map[string]any{"post_logout_redirect_uris": []string{"data:text/html,x"}}), 400, "invalid_redirect_uri", "post_logout_redirect_uris[0]"},
			{"no redirect for the code grant", map[string]any{"client_name": "x"}, 400, "invalid_redirect_uri", "redirect_uris"},
			{"inconsistent response types", with(map[string]any{"grant_types": []string{"client_credentials"}, "response_types": []string{"code"}}), 400, "invalid_client_metadata", "response_types"},
			{"unsupported response type", with(map[string]any{"response_types": []string{"token"}}), 400, "invalid_client_metadata", "response_types[0]"},
			{"password grant", with(map[string]any{"grant_types": []string{"authorization_code", "password"}}), 400, "invalid_client_metadata", "password"},
			{"reserved admin scope", with(map[string]any{"grant_types": []string{"client_credentials"}, "redirect_uris": nil, "scope": "sesame:admin"}), 400, "invalid_client_metadata", "sesame:admin"},
			{"reserved introspect scope", with(map[string]any{"scope": "openid sesame:introspect"}), 400, "invalid_client_metadata", "sesame:introspect"},
			{"jwks_uri", with(map[string]any{"jwks_uri": "https://app.example.com/jwks"}), 400, "invalid_client_metadata", "jwks_uri"},
			{"private_key_jwt without keys", with(map[string]any{"token_endpoint_auth_method": "private_key_jwt"}), 400, "invalid_client_metadata", "jwks"},
			{"symmetric key in jwks", with(map[string]any{"jwks": map[string]any{"keys": []any{map[string]any{"kty": "oct", "k": "c2VjcmV0"}}}}), 400, "invalid_client_metadata", "jwks"},
			{"malformed software statement", with(map[string]any{"software_statement": "not-a-jwt"}), 400, "invalid_software_statement", "software_statement"},
			{"unapproved software statement", with(map[string]any{"software_statement": "eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6IngifQ.c2ln"}), 400, "unapproved_software_statement", "software_statement"},
			{"bad logo_uri", with(map[string]any{"logo_uri": "javascript:alert(1)"}), 400, "invalid_client_metadata", "logo_uri"},
			{"redirect_uris not an array", with(map[string]any{"redirect_uris": "https://app.example.com/cb"}), 400, "invalid_client_metadata", "redirect_uris"},
			{"malformed JSON", `{"redirect_uris": [`, 400, "invalid_client_metadata", "JSON"},
			{"public client with client_credentials", with(map[string]any{"token_endpoint_auth_method": "none", "grant_types": []string{"client_credentials"}}), 400, "invalid_client_metadata", "public"},
		}
		before := e.snapshot()
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := e.call(http.MethodPost, PathRegister, "", tc.body)
				if r.status != tc.wantStatus {
					t.Fatalf("status %d, want %d: %s", r.status, tc.wantStatus, r.body)
				}
				if got := r.apiErr(t); got.Code != tc.wantCode || !strings.Contains(got.Description, tc.wantInDesc) {
					t.Fatalf("error %+v, want %s mentioning %q", got, tc.wantCode, tc.wantInDesc)
				}
				if after := e.snapshot(); after != before {
					t.Fatalf("store changed: %+v → %+v", before, after)
				}
			})
		}

		// Open registration: no token needed; a public native client gets
		// no secret; unknown metadata is ignored.
		r := e.call(http.MethodPost, PathRegister, "", map[string]any{
			"client_name": "CLI tool", "redirect_uris": []string{"http://127.0.0.1:8765/cb", "com.example.tool:/cb"},
			"token_endpoint_auth_method": "none", "skip_consent": true, "audience": []string{"x"},
		})
		if r.status != http.StatusCreated {
			t.Fatalf("open registration: %d %s", r.status, r.body)
		}
		var reg regResp
		r.json(t, &reg)
		if reg.ClientSecret != "" || reg.ClientSecretExpiresAt != nil || reg.TokenEndpointAuthMethod != "none" {
			t.Fatalf("public client %s", r.body)
		}
		stored, err := st.GetClient(context.Background(), reg.ClientID)
		if err != nil {
			t.Fatal(err)
		}
		if !stored.Public || stored.SkipConsent || len(stored.Audience) != 0 {
			t.Fatalf("self-registration must not grant admin-only settings: %+v", stored)
		}
	})
}

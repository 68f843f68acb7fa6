package admin

import (
	"context"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
)

// TestBadPayloadsAreRefusedClearlyAndChangeNothing sends malformed and
// invalid requests: each must get a 4xx with an error code and a
// description naming the field, and leave the store exactly as it was.
func TestBadPayloadsAreRefusedClearlyAndChangeNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		u, err := e.svc.CreateUser(ctx, "cli", app.NewUser{Username: "carol", Password: "pw-long-enough"})
		if err != nil {
			t.Fatal(err)
		}
		cl, _, err := e.svc.CreateClient(ctx, "cli", app.ClientSpec{Name: "existing", RedirectURIs: []string{"https://x.example/cb"}})
		if err != nil {
			t.Fatal(err)
		}
		client := "/admin/clients/" + cl.ID
		user := "/admin/users/" + u.ID
		web := func(extra map[string]any) map[string]any {
			m := map[string]any{"client_name": "x", "redirect_uris": []string{"https://app.example.com/cb"}}
			for k, v := range extra {
				m[k] = v
			}
			return m
		}
		tests := []struct {
			name, method, path string
			body               any
			wantStatus         int
			wantCode           string
			wantInDesc         string
		}{
			{"malformed JSON", "POST", "/admin/clients", `{"client_name":`, 400, "invalid_request", "not valid JSON"},
			{"JSON array instead of object", "POST", "/admin/clients", `[1,2]`, 400, "invalid_request", "JSON object"},
			{"empty body", "POST", "/admin/users", ``, 400, "invalid_request", "JSON object"},
			{"two objects", "POST", "/admin/users", `{"username":"a","password":"b"}{}`, 400, "invalid_request", "single JSON object"},
			{"unknown field", "POST", "/admin/clients", web(map[string]any{"redirect_uri": "https://a/cb"}), 400, "invalid_request", "redirect_uri: unknown field"},
			{"wrong type", "POST", "/admin/clients", web(map[string]any{"redirect_uris": "https://a/cb"}), 400, "invalid_request", "redirect_uris: must be an array"},
			{"body too large", "POST", "/admin/clients", `{"client_name":"` + strings.Repeat("a", maxBodyBytes) + `"}`, 413, "invalid_request", "exceeds"},
			{"javascript redirect", "POST", "/admin/clients", web(map[string]any{"redirect_uris": []string{"javascript:alert(1)"}}), 400, "invalid_request", "redirect_uris[0]"},
			{"http redirect off loopback", "POST", "/admin/clients", web(map[string]any{"redirect_uris": []string{"http://app.example.com/cb"}}), 400, "invalid_request", "redirect_uris[0]"},
			{"relative redirect", "POST", "/admin/clients", web(map[string]any{"redirect_uris": []string{"/cb"}}), 400, "invalid_request", "redirect_uris[0]"},
			{"wildcard redirect", "POST", "/admin/clients", web(map[string]any{"redirect_uris": []string{"https://*.example.com/cb"}}), 400, "invalid_request", "wildcard"},
			{"unknown grant type", "POST", "/admin/clients", web(map[string]any{"grant_types": []string{"implicit"}}), 400, "invalid_request", "grant_types[0]"},
			{"code grant without redirect", "POST", "/admin/clients", map[string]any{"client_name": "x"}, 400, "invalid_request", "redirect_uris"},
			{"public client_credentials", "POST", "/admin/clients", map[string]any{"public": true, "grant_types": []string{"client_credentials"}}, 400, "invalid_request", "not allowed for public clients"},
			{"bad auth method", "POST", "/admin/clients", web(map[string]any{"token_endpoint_auth_method": "tls_client_auth"}), 400, "invalid_request", "token_endpoint_auth_method"},
			{"private jwk in jwks", "POST", "/admin/clients", web(map[string]any{"token_endpoint_auth_method": "private_key_jwt",
				"jwks": map[string]any{"keys": []any{map[string]any{"kty": "oct", "k": "c2VjcmV0"}}}}), 400, "invalid_request", "jwks"},
			{"jwks_uri", "POST", "/admin/clients", web(map[string]any{"jwks_uri": "https://app.example.com/jwks"}), 400, "invalid_request", "jwks_uri"},
			{"bad token format", "POST", "/admin/clients", web(map[string]any{"access_token_format": "paseto"}), 400, "invalid_request", "access_token_format"},
			{"bad client id", "POST", "/admin/clients", web(map[string]any{"client_id": "a b/c"}), 400, "invalid_request", "client_id"},
			{"duplicate client id", "POST", "/admin/clients", web(map[string]any{"client_id": cl.ID}), 409, "conflict", cl.ID},
			{"scope with quote", "POST", "/admin/clients", web(map[string]any{"scope": `openid "x"`}), 400, "invalid_request", "scope"},
			{"bad CORS origin", "POST", "/admin/clients", web(map[string]any{"allowed_cors_origins": []string{"https://a.example.com/path"}}), 400, "invalid_request", "allowed_cors_origins[0]"},
			{"PATCH javascript redirect", "PATCH", client, map[string]any{"redirect_uris": []string{"javascript:x"}}, 400, "invalid_request", "redirect_uris[0]"},
			{"PATCH changes client id", "PATCH", client, map[string]any{"client_id": "other"}, 400, "invalid_request", "client_id"},
			{"PUT other client id", "PUT", client, web(map[string]any{"client_id": "other"}), 400, "invalid_request", "client_id"},
			{"PATCH missing client", "PATCH", "/admin/clients/missing", map[string]any{"client_name": "x"}, 404, "not_found", "missing"},
			{"user without username", "POST", "/admin/users", map[string]any{"password": "pw-long-enough"}, 400, "invalid_request", "username"},
			{"user without password", "POST", "/admin/users", map[string]any{"username": "dave"}, 400, "invalid_request", "password"},
			{"username with space", "POST", "/admin/users", map[string]any{"username": "da ve", "password": "pw-long-enough"}, 400, "invalid_request", "username"},
			{"bad email", "POST", "/admin/users", map[string]any{"username": "dave", "password": "pw-long-enough", "email": "Dave <d@x>"}, 400, "invalid_request", "email"},
			{"duplicate username", "POST", "/admin/users", map[string]any{"username": "CAROL", "password": "pw-long-enough"}, 409, "conflict", "already exists"},
			{"PATCH bad email", "PATCH", user, map[string]any{"email": "nope"}, 400, "invalid_request", "email"},
			{"PATCH name with control char", "PATCH", user, map[string]any{"name": "a\u0007b"}, 400, "invalid_request", "name"},
			{"PATCH username", "PATCH", user, map[string]any{"username": "zed"}, 400, "invalid_request", "username: unknown field"},
			{"PATCH disabled not bool", "PATCH", user, map[string]any{"disabled": "yes"}, 400, "invalid_request", "disabled: must be a boolean"},
			{"empty password", "PUT", user + "/password", map[string]any{"password": ""}, 400, "invalid_request", "password"},
			{"revoke with both ids", "POST", "/admin/tokens/revoke", map[string]any{"user_id": u.ID, "client_id": cl.ID}, 400, "invalid_request", "exactly one"},
			{"revoke with neither", "POST", "/admin/tokens/revoke", map[string]any{}, 400, "invalid_request", "exactly one"},
			{"registration token negative uses", "POST", "/admin/registration-tokens", map[string]any{"max_uses": -1}, 400, "invalid_request", "max_uses"},
			{"registration token too short", "POST", "/admin/registration-tokens", map[string]any{"expires_in": 5}, 400, "invalid_request", "expires_in"},
			{"registration token too long", "POST", "/admin/registration-tokens", map[string]any{"expires_in": 1 << 40}, 400, "invalid_request", "expires_in"},
			{"list limit not a number", "GET", "/admin/clients?limit=ten", nil, 400, "invalid_request", "limit"},
			{"list limit too big", "GET", "/admin/users?limit=100000", nil, 400, "invalid_request", "limit"},
			{"forged cursor", "GET", "/admin/clients?cursor=Zm9v.AAAA", nil, 400, "invalid_request", "cursor"},
			{"audit since not a time", "GET", "/admin/audit?since=yesterday", nil, 400, "invalid_request", "since"},
			{"wrong content type", "POST", "/admin/users", nil, 415, "invalid_request", "Content-Type"},
		}
		before := e.snapshot()
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := e.call(tc.method, tc.path, e.adminToken, tc.body)
				if r.status != tc.wantStatus {
					t.Fatalf("status %d, want %d: %s", r.status, tc.wantStatus, r.body)
				}
				got := r.apiErr(t)
				if got.Code != tc.wantCode || !strings.Contains(got.Description, tc.wantInDesc) {
					t.Fatalf("error %+v, want code %q and a description containing %q", got, tc.wantCode, tc.wantInDesc)
				}
				if after := e.snapshot(); after != before {
					t.Fatalf("store changed: before %+v, after %+v", before, after)
				}
			})
		}
		if got, _ := e.svc.GetClient(ctx, cl.ID); got.Name != "existing" || len(got.RedirectURIs) != 1 {
			t.Fatalf("refused patches changed the client: %+v", got)
		}
		if got, _ := e.svc.GetUser(ctx, u.ID); got.Email != "" || got.Name != "" || got.Disabled {
			t.Fatalf("refused patches changed the user: %+v", got)
		}
	})
}

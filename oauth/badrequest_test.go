package oauth

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/storage"
)

// TestBadTokenRequests checks that each malformed or unauthorized token
// request gets the exact RFC 6749 §5.2 error code and no token.
func TestBadTokenRequests(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.createUser("alice", "pw-alice-1", false)
		c, sec, cfg := e.codeClient(func(c *storage.Client) {
			c.GrantTypes = []string{"authorization_code", "refresh_token", "client_credentials", "password"}
		})
		other, otherSec, otherCfg := e.codeClient(nil)
		codeOnly, codeOnlySec, codeOnlyCfg := e.codeClient(func(c *storage.Client) { c.GrantTypes = []string{"authorization_code"} })
		ccOnly, ccOnlySec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}})
		postClient, postSec := e.createClient(storage.Client{GrantTypes: []string{"client_credentials"}, TokenEndpointAuthMethod: "client_secret_post"})
		pub, _, _ := e.codeClient(func(c *storage.Client) {
			c.Public, c.TokenEndpointAuthMethod = true, "none"
			c.GrantTypes = []string{"authorization_code", "refresh_token", "client_credentials", "password"}
		})

		verifier, challenge := pkcePair(t)
		code := e.authorize(c.ID, cfg.RedirectURL, "api", challenge, "u1")
		_, otherChallenge := pkcePair(t)
		otherCode := e.authorize(other.ID, otherCfg.RedirectURL, "api", otherChallenge, "u1")
		_, coChallenge := pkcePair(t)
		codeOnlyCode := e.authorize(codeOnly.ID, codeOnlyCfg.RedirectURL, "api", coChallenge, "u1")
		rt := e.codeTokens(cfg, "offline_access api").RefreshToken
		otherRT := e.codeTokens(otherCfg, "offline_access api").RefreshToken
		at := e.codeTokens(cfg, "api").AccessToken

		type auth struct{ id, secret string }
		basic := auth{c.ID, sec}
		none := auth{}
		f := func(kv ...string) url.Values {
			v := url.Values{}
			for i := 0; i < len(kv); i += 2 {
				v.Add(kv[i], kv[i+1])
			}
			return v
		}
		codeForm := func(kv ...string) url.Values {
			v := f("grant_type", "authorization_code", "code", code, "redirect_uri", cfg.RedirectURL, "code_verifier", verifier)
			for i := 0; i < len(kv); i += 2 {
				v.Set(kv[i], kv[i+1])
			}
			return v
		}
		tests := []struct {
			name string
			form url.Values
			auth auth
			want string
		}{
			{"missing grant_type", f("scope", "api"), basic, "invalid_request"},
			{"unknown grant_type", f("grant_type", "magic"), basic, "unsupported_grant_type"},
			{"implicit is not a token grant", f("grant_type", "implicit"), basic, "unsupported_grant_type"},
			{"jwt-bearer grant not enabled", f("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion", "x.y.z"), basic, "unsupported_grant_type"},
			{"device code grant not registered for the client", f("grant_type", "urn:ietf:params:oauth:grant-type:device_code", "device_code", "x"), basic, "unauthorized_client"},
			{"two grant types at once", f("grant_type", "client_credentials password"), basic, "unsupported_grant_type"},
			{"no client authentication", f("grant_type", "client_credentials"), none, "invalid_client"},
			{"wrong client secret", f("grant_type", "client_credentials"), auth{c.ID, "wrong"}, "invalid_client"},
			{"unknown client", f("grant_type", "client_credentials"), auth{"nobody", "x"}, "invalid_client"},
			{"post credentials for a basic client", f("grant_type", "client_credentials", "client_id", c.ID, "client_secret", sec), none, "invalid_client"},
			{"basic credentials for a post client", f("grant_type", "client_credentials"), auth{postClient.ID, postSec}, "invalid_client"},
			{"client_credentials scope not allowed", f("grant_type", "client_credentials", "scope", "admin"), basic, "invalid_scope"},
			{"client_credentials for a client without it", f("grant_type", "client_credentials"), auth{codeOnly.ID, codeOnlySec}, "unauthorized_client"},
			{"client_credentials for a public client", f("grant_type", "client_credentials", "client_id", pub.ID), none, "unauthorized_client"},
			{"client_credentials audience not allowed", f("grant_type", "client_credentials", "audience", "https://evil"), basic, "invalid_request"},
			{"password without username", f("grant_type", "password", "password", "pw-alice-1"), basic, "invalid_request"},
			{"password without password", f("grant_type", "password", "username", "alice"), basic, "invalid_request"},
			{"password wrong", f("grant_type", "password", "username", "alice", "password", "nope"), basic, "invalid_grant"},
			{"password scope not allowed", f("grant_type", "password", "username", "alice", "password", "pw-alice-1", "scope", "admin"), basic, "invalid_scope"},
			{"password for a client without it", f("grant_type", "password", "username", "alice", "password", "pw-alice-1"), auth{ccOnly.ID, ccOnlySec}, "unauthorized_client"},
			{"password for a public client", f("grant_type", "password", "username", "alice", "password", "pw-alice-1", "client_id", pub.ID), none, "unauthorized_client"},
			{"code missing", f("grant_type", "authorization_code", "redirect_uri", cfg.RedirectURL), basic, "invalid_request"},
			{"code unknown", f("grant_type", "authorization_code", "code", "sesame_ac_nope.nope", "redirect_uri", cfg.RedirectURL), basic, "invalid_grant"},
			{"code with another redirect_uri", codeForm("redirect_uri", "https://app.example/other"), basic, "invalid_grant"},
			{"code without its redirect_uri", f("grant_type", "authorization_code", "code", code, "code_verifier", verifier), basic, "invalid_grant"},
			{"code of another client", f("grant_type", "authorization_code", "code", otherCode, "redirect_uri", cfg.RedirectURL), basic, "invalid_grant"},
			{"code for a client without the grant", f("grant_type", "authorization_code", "code", codeOnlyCode, "redirect_uri", codeOnlyCfg.RedirectURL), auth{ccOnly.ID, ccOnlySec}, "unauthorized_client"},
			{"code with a too short verifier", f("grant_type", "authorization_code", "code", code, "redirect_uri", cfg.RedirectURL, "code_verifier", "short"), basic, "invalid_grant"},
			{"refresh token missing", f("grant_type", "refresh_token"), basic, "invalid_request"},
			{"refresh token unknown", f("grant_type", "refresh_token", "refresh_token", "sesame_rt_nope.nope"), basic, "invalid_grant"},
			{"refresh token of another client", f("grant_type", "refresh_token", "refresh_token", otherRT), basic, "invalid_grant"},
			{"access token used as refresh token", f("grant_type", "refresh_token", "refresh_token", at), basic, "invalid_grant"},
			{"refresh for a client without the grant", f("grant_type", "refresh_token", "refresh_token", rt), auth{ccOnly.ID, ccOnlySec}, "unauthorized_client"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := e.post(PathToken, tt.form, tt.auth.id, tt.auth.secret)
				mustError(t, r, tt.want)
				if r.header.Get("Cache-Control") != "no-store" {
					t.Fatalf("error response is cacheable: %v", r.header)
				}
				if tt.want == "invalid_client" && r.status != http.StatusUnauthorized {
					t.Fatalf("invalid_client with status %d", r.status)
				}
			})
		}
		// The code survived the bad attempts that did not reach it; the
		// refresh token of `other` was not revoked by the mismatched client.
		mustToken(t, e.refresh(other.ID, otherSec, otherRT))
		if !strings.HasPrefix(rt, prefixRefreshToken) {
			t.Fatal("fixture")
		}
	})
}

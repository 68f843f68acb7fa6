package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const upstreamsYAML = `
issuer: http://127.0.0.1:8080
upstreams:
  - id: google
    name: Google
    type: oidc
    issuer: https://accounts.google.com/
    client_id: abc.apps.googleusercontent.com
    client_secret_file: SECRETFILE
    scopes: [openid, email, profile]
    allowed_email_domains: [Example.COM]
    link_existing_by_verified_email: true
  - id: github
    name: GitHub
    type: oauth2
    client_id: gh
    authorize_url: https://github.com/login/oauth/authorize
    token_url: https://github.com/login/oauth/access_token
    userinfo_url: https://api.github.com/user
    emails_url: https://api.github.com/user/emails
    claims: {subject: id, username: login}
  - id: corp-ldap
    name: Corp directory
    type: ldap
    url: ldaps://ldap.example.com
    bind_dn: cn=sesame,dc=example,dc=com
    user_search_base: ou=people,dc=example,dc=com
    user_filter: (uid={username})
    group_search_base: ou=groups,dc=example,dc=com
    group_filter: (member={dn})
`

func TestUpstreamsFromFileWithSecretsFromFileAndEnv(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "google.secret")
	if err := os.WriteFile(secretFile, []byte("g-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, "sesame.yaml", strings.Replace(upstreamsYAML, "SECRETFILE", secretFile, 1))
	env := map[string]string{
		"SESAME_UPSTREAM_GITHUB_CLIENT_SECRET":    "gh-secret",
		"SESAME_UPSTREAM_CORP_LDAP_BIND_PASSWORD": "bind-pw",
	}
	c, err := Load(Sources{File: file, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(c.Upstreams) != 3 {
		t.Fatalf("got %d upstreams, want 3", len(c.Upstreams))
	}
	g, gh, l := c.Upstreams[0], c.Upstreams[1], c.Upstreams[2]
	if g.ClientSecret != "g-secret" || g.Issuer != "https://accounts.google.com" || g.AllowedEmailDomains[0] != "example.com" || !g.LinkExistingByVerifiedEmail {
		t.Errorf("google = %+v", g)
	}
	if gh.ClientSecret != "gh-secret" || gh.Claims["subject"] != "id" {
		t.Errorf("github = %+v", gh)
	}
	if l.BindPassword != "bind-pw" || l.GroupFilter != "(member={dn})" {
		t.Errorf("ldap = %+v", l)
	}
}

func TestUpstreamErrorsNameTheUpstreamAndField(t *testing.T) {
	env := map[string]string{"SESAME_UPSTREAM_X_CLIENT_SECRET": "s"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	oidc := "upstreams:\n  - id: x\n    name: X\n    type: oidc\n    client_id: c\n"
	for _, tt := range []struct{ name, body, want string }{
		{"secret in the file", oidc + "    issuer: https://x.test\n    client_secret: s\n", `upstream "x": client_secret is refused`},
		{"unknown field", oidc + "    issuer: https://x.test\n    isuer: https://x.test\n", `upstream "x": yaml: unmarshal errors`},
		{"missing issuer", oidc, `invalid upstream "x" issuer "": required`},
		{"plain http issuer", oidc + "    issuer: http://x.test\n", `invalid upstream "x" issuer "http://x.test": must be https`},
		{"bad type", "upstreams:\n  - id: x\n    name: X\n    type: saml\n", `invalid upstream "x" type "saml"`},
		{"bad id", "upstreams:\n  - id: Has Space\n    name: X\n    type: oidc\n", `invalid upstreams[0] id "Has Space"`},
		{"duplicate id", oidc + "    issuer: https://x.test\n" + strings.Replace(oidc, "upstreams:\n", "", 1) + "    issuer: https://x.test\n", `invalid upstream "x" id: given twice`},
		{"no secret", strings.Replace(oidc, "id: x", "id: y", 1) + "    issuer: https://x.test\n", `invalid upstream "y" client_secret_file: required (or SESAME_UPSTREAM_Y_CLIENT_SECRET)`},
		{"unknown claim key", oidc + "    issuer: https://x.test\n    claims: {phone: phone_number}\n", `invalid upstream "x" claims: unknown key "phone"`},
		{"plain ldap to a remote host", "upstreams:\n  - id: x\n    name: X\n    type: ldap\n    url: ldap://ldap.example.com\n    user_search_base: dc=x\n    user_filter: (uid={username})\n", `invalid upstream "x" url "ldap://ldap.example.com": ldap:// needs start_tls`},
		{"ldap filter without placeholder", "upstreams:\n  - id: x\n    name: X\n    type: ldap\n    url: ldaps://ldap.example.com\n    user_search_base: dc=x\n    user_filter: (uid=alice)\n", `invalid upstream "x" user_filter "(uid=alice)": must contain {username}`},
		{"not a list", "upstreams: google\n", "upstreams must be a list"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(Sources{File: writeFile(t, "c.yaml", tt.body), LookupEnv: lookup})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

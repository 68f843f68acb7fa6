package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Upstream is one entry of `upstreams:` in the YAML file (SPEC part two
// "Sign-in through other providers"). Upstreams exist only in the file:
// they are lists of structured values, which SESAME_* variables and flags
// do not carry. Secrets never come from the YAML: ClientSecret and
// BindPassword are resolved by Load from client_secret_file /
// bind_password_file or from SESAME_UPSTREAM_<ID>_CLIENT_SECRET /
// SESAME_UPSTREAM_<ID>_BIND_PASSWORD (ID upper-cased, '-' → '_').
type Upstream struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"` // button text: "Continue with NAME"
	Type string `yaml:"type"` // oidc | oauth2 | ldap

	// oidc and oauth2.
	Issuer           string            `yaml:"issuer"`
	ClientID         string            `yaml:"client_id"`
	ClientSecretFile string            `yaml:"client_secret_file"`
	ClientSecret     string            `yaml:"-"`
	Scopes           []string          `yaml:"scopes"`
	Claims           map[string]string `yaml:"claims"`
	// Userinfo (oidc) also reads the userinfo endpoint after the ID token.
	Userinfo bool `yaml:"userinfo"`

	// oauth2 (GitHub-style, no ID token).
	AuthorizeURL string `yaml:"authorize_url"`
	TokenURL     string `yaml:"token_url"`
	UserinfoURL  string `yaml:"userinfo_url"`
	// EmailsURL lists the account's addresses (GitHub's /user/emails);
	// the primary verified one is used. Optional.
	EmailsURL string `yaml:"emails_url"`

	// ldap.
	URL              string `yaml:"url"`
	StartTLS         bool   `yaml:"start_tls"`
	CAFile           string `yaml:"ca_file"`
	BindDN           string `yaml:"bind_dn"`
	BindPasswordFile string `yaml:"bind_password_file"`
	BindPassword     string `yaml:"-"`
	UserSearchBase   string `yaml:"user_search_base"`
	UserFilter       string `yaml:"user_filter"`
	GroupSearchBase  string `yaml:"group_search_base"`
	GroupFilter      string `yaml:"group_filter"`

	AllowedEmailDomains         []string `yaml:"allowed_email_domains"`
	LinkExistingByVerifiedEmail bool     `yaml:"link_existing_by_verified_email"`
}

// Upstream types.
const (
	UpstreamOIDC   = "oidc"
	UpstreamOAuth2 = "oauth2"
	UpstreamLDAP   = "ldap"
)

// UpstreamClaimKeys are the keys `claims:` may map (Sesame's field →
// the upstream's claim or attribute name).
var UpstreamClaimKeys = []string{"subject", "username", "email", "email_verified", "name", "groups"}

var upstreamID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// maxUpstreams bounds the list: every one is a button on the login page.
const maxUpstreams = 32

// SecretEnv is the environment variable that may carry an upstream's
// secret (field "client_secret" or "bind_password").
func (u Upstream) SecretEnv(field string) string {
	id := strings.ToUpper(strings.ReplaceAll(u.ID, "-", "_"))
	return "SESAME_UPSTREAM_" + id + "_" + strings.ToUpper(field)
}

// parseUpstreams decodes the `upstreams:` sequence, each entry strictly
// (an unknown field is an error naming the upstream).
func parseUpstreams(path string, n *yaml.Node) ([]Upstream, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("config file %s line %d: upstreams must be a list", path, n.Line)
	}
	out := make([]Upstream, 0, len(n.Content))
	for i, item := range n.Content {
		name := fmt.Sprintf("upstreams[%d]", i)
		if item.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(item.Content); j += 2 {
				k := item.Content[j].Value
				if k == "id" {
					name = fmt.Sprintf("upstream %q", item.Content[j+1].Value)
				}
			}
			for j := 0; j+1 < len(item.Content); j += 2 {
				if k := item.Content[j].Value; k == "client_secret" || k == "bind_password" {
					return nil, fmt.Errorf("config file %s line %d: %s: %s is refused in a config file (use %s_file or the environment)",
						path, item.Content[j].Line, name, k, k)
				}
			}
		}
		b, err := yaml.Marshal(item)
		if err != nil {
			return nil, fmt.Errorf("config file %s line %d: %s: %w", path, item.Line, name, err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		var u Upstream
		if err := dec.Decode(&u); err != nil {
			return nil, fmt.Errorf("config file %s line %d: %s: %w", path, item.Line, name, err)
		}
		out = append(out, u)
	}
	return out, nil
}

// resolveUpstreamSecrets reads each upstream's secret from its file or
// the environment; both set is an error (as SESAME_SECRET and
// SESAME_SECRET_FILE), so nobody wonders which one is used.
func resolveUpstreamSecrets(ups []Upstream, lookup func(string) (string, bool)) error {
	for i := range ups {
		u := &ups[i]
		for _, s := range []struct {
			field, file string
			dst         *string
		}{
			{"client_secret", u.ClientSecretFile, &u.ClientSecret},
			{"bind_password", u.BindPasswordFile, &u.BindPassword},
		} {
			env := u.SecretEnv(s.field)
			v, fromEnv := lookup(env)
			switch {
			case s.file != "" && fromEnv:
				return fmt.Errorf("invalid upstream %q: set only one of %s_file and %s", u.ID, s.field, env)
			case s.file != "":
				b, err := os.ReadFile(s.file)
				if err != nil {
					return fmt.Errorf("invalid upstream %q %s_file: %w", u.ID, s.field, err)
				}
				*s.dst = strings.TrimRight(string(b), "\r\n")
			case fromEnv:
				*s.dst = v
			}
		}
	}
	return nil
}

// validateUpstreams checks every upstream; errors name the upstream and
// the field.
func (c *Config) validateUpstreams() error {
	if len(c.Upstreams) > maxUpstreams {
		return fmt.Errorf("invalid upstreams: at most %d", maxUpstreams)
	}
	seen := map[string]bool{}
	for i := range c.Upstreams {
		u := &c.Upstreams[i]
		if !upstreamID.MatchString(u.ID) {
			return fmt.Errorf("invalid upstreams[%d] id %q: must be 1-32 of a-z, 0-9, '-', '_'", i, u.ID)
		}
		if seen[u.ID] {
			return fmt.Errorf("invalid upstream %q id: given twice", u.ID)
		}
		seen[u.ID] = true
		if err := u.validate(); err != nil {
			return fmt.Errorf("invalid upstream %q %w", u.ID, err)
		}
	}
	return nil
}

func (u *Upstream) validate() error {
	if strings.TrimSpace(u.Name) == "" || len(u.Name) > 64 {
		return errors.New("name: required, at most 64 bytes")
	}
	for k := range u.Claims {
		if !oneOf(k, UpstreamClaimKeys) {
			return fmt.Errorf("claims: unknown key %q (one of %s)", k, strings.Join(UpstreamClaimKeys, ", "))
		}
	}
	for i, d := range u.AllowedEmailDomains {
		d = strings.ToLower(strings.TrimSpace(d))
		if d == "" || strings.ContainsAny(d, "@ /") {
			return fmt.Errorf("allowed_email_domains: %q is not a domain", u.AllowedEmailDomains[i])
		}
		u.AllowedEmailDomains[i] = d
	}
	switch u.Type {
	case UpstreamOIDC:
		if err := checkUpstreamURL(u.Issuer); err != nil {
			return fmt.Errorf("issuer %q: %w", u.Issuer, err)
		}
		u.Issuer = strings.TrimSuffix(u.Issuer, "/")
		return u.checkClient()
	case UpstreamOAuth2:
		for _, f := range []struct{ name, v string }{
			{"authorize_url", u.AuthorizeURL}, {"token_url", u.TokenURL}, {"userinfo_url", u.UserinfoURL},
		} {
			if err := checkUpstreamURL(f.v); err != nil {
				return fmt.Errorf("%s %q: %w", f.name, f.v, err)
			}
		}
		if u.EmailsURL != "" {
			if err := checkUpstreamURL(u.EmailsURL); err != nil {
				return fmt.Errorf("emails_url %q: %w", u.EmailsURL, err)
			}
		}
		return u.checkClient()
	case UpstreamLDAP:
		return u.checkLDAP()
	}
	return fmt.Errorf("type %q: must be oidc, oauth2 or ldap", u.Type)
}

func (u *Upstream) checkClient() error {
	switch {
	case u.ClientID == "":
		return errors.New("client_id: required")
	case u.ClientSecret == "":
		return fmt.Errorf("client_secret_file: required (or %s)", u.SecretEnv("client_secret"))
	}
	return nil
}

func (u *Upstream) checkLDAP() error {
	p, err := url.Parse(u.URL)
	switch {
	case err != nil || p.Host == "":
		return fmt.Errorf("url %q: not an ldap:// or ldaps:// URL", u.URL)
	case p.Scheme == "ldaps":
		if u.StartTLS {
			return errors.New("start_tls: not with ldaps://")
		}
	case p.Scheme == "ldap":
		// Plain LDAP would send the user's password in clear: only over
		// StartTLS, or to a directory on this machine (tests).
		if !u.StartTLS && !isLoopbackIP(p.Hostname()) {
			return fmt.Errorf("url %q: ldap:// needs start_tls: true unless the host is loopback", u.URL)
		}
	default:
		return fmt.Errorf("url %q: not an ldap:// or ldaps:// URL", u.URL)
	}
	if u.BindDN != "" && u.BindPassword == "" {
		return fmt.Errorf("bind_password_file: required with bind_dn (or %s)", u.SecretEnv("bind_password"))
	}
	if u.UserSearchBase == "" {
		return errors.New("user_search_base: required")
	}
	if !strings.Contains(u.UserFilter, "{username}") {
		return fmt.Errorf("user_filter %q: must contain {username}", u.UserFilter)
	}
	if (u.GroupSearchBase == "") != (u.GroupFilter == "") {
		return errors.New("group_filter: group_search_base and group_filter go together")
	}
	if u.GroupFilter != "" && !strings.Contains(u.GroupFilter, "{dn}") && !strings.Contains(u.GroupFilter, "{username}") {
		return fmt.Errorf("group_filter %q: must contain {dn} or {username}", u.GroupFilter)
	}
	return nil
}

// checkUpstreamURL: absolute, https except for loopback (tests, local
// development).
func checkUpstreamURL(raw string) error {
	p, err := url.Parse(raw)
	switch {
	case raw == "":
		return errors.New("required")
	case err != nil || p.Host == "" || (p.Scheme != "https" && p.Scheme != "http"):
		return errors.New("must be an absolute http(s) URL")
	case p.Scheme == "http" && !IsLoopbackHost(p.Hostname()):
		return errors.New("must be https except for localhost/127.0.0.1")
	}
	return nil
}

func isLoopbackIP(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

package upstream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/go-ldap/ldap/v3"
)

// ldapDefaults are the attribute names of an OpenLDAP inetOrgPerson and
// a groupOfNames; Active Directory maps its own (sAMAccountName,
// objectGUID…) with `claims:`.
var ldapDefaults = map[string]string{
	"subject": "entryUUID", "username": "uid", "email": "mail", "name": "cn", "groups": "cn",
}

// ldapUpstream checks a password by binding as the user: search the
// directory (as the service account of bind_dn, or anonymously) for the
// one entry user_filter finds, then bind with its DN and the password.
// The directory decides, with its own policy (lockout, expiry); Sesame
// never sees a hash.
type ldapUpstream struct {
	cfg   Config
	o     Options
	url   string
	tls   *tls.Config
	plain bool // ldap:// without StartTLS (loopback only; config refuses more)
	warn  sync.Once
}

func newLDAP(cfg Config, o Options) (*ldapUpstream, error) {
	p, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("upstream %q: url: %w", cfg.ID, err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: p.Hostname()}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("upstream %q: ca_file: %w", cfg.ID, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("upstream %q: ca_file %s: no PEM certificate", cfg.ID, cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	return &ldapUpstream{cfg: cfg, o: o, url: cfg.URL, tls: tc, plain: p.Scheme == "ldap" && !cfg.StartTLS}, nil
}

func (u *ldapUpstream) ID() string   { return u.cfg.ID }
func (u *ldapUpstream) Name() string { return u.cfg.Name }
func (u *ldapUpstream) Type() string { return "ldap" }

// dial connects (TLS from the start for ldaps://, StartTLS when asked)
// and binds as the service account. Every failure is ErrUnavailable: the
// person did nothing wrong.
func (u *ldapUpstream) dial(ctx context.Context) (*ldap.Conn, error) {
	d := &net.Dialer{Timeout: u.o.Timeout}
	conn, err := ldap.DialURL(u.url, ldap.DialWithDialer(d), ldap.DialWithTLSConfig(u.tls))
	if err != nil {
		return nil, fmt.Errorf("%w: ldap %s: %v", ErrUnavailable, u.url, err)
	}
	conn.SetTimeout(u.o.Timeout)
	if u.cfg.StartTLS {
		if err := conn.StartTLS(u.tls); err != nil {
			conn.Close()
			return nil, fmt.Errorf("%w: ldap %s: StartTLS: %v", ErrUnavailable, u.url, err)
		}
	}
	if u.plain {
		u.warn.Do(func() {
			u.o.Logger.WarnContext(ctx, "upstream: plain LDAP without TLS (allowed only to a loopback host): passwords cross the connection in clear",
				"upstream", u.cfg.ID, "url", u.url)
		})
	}
	if u.cfg.BindDN != "" {
		if err := conn.Bind(u.cfg.BindDN, u.cfg.BindPassword); err != nil {
			conn.Close()
			return nil, fmt.Errorf("%w: ldap %s: service bind as %s: %v", ErrUnavailable, u.url, u.cfg.BindDN, err)
		}
	}
	return conn, nil
}

func (u *ldapUpstream) attr(field string) string {
	return claimName(u.cfg.Claims, field, ldapDefaults[field])
}

// Authenticate checks username and password against the directory.
func (u *ldapUpstream) Authenticate(ctx context.Context, username, password string) (Identity, error) {
	// RFC 4513 §5.1.2: a bind with a DN and an empty password is an
	// "unauthenticated bind" that many servers answer with success.
	// Never send one.
	if username == "" || password == "" || len(username) > maxFieldBytes || len(password) > 1024 {
		return Identity{}, ErrInvalidCredentials
	}
	conn, err := u.dial(ctx)
	if err != nil {
		return Identity{}, err
	}
	defer conn.Close()
	// RFC 4515 §3: the username is a value inside the filter; escaped,
	// `*)(uid=*` is looked up literally instead of matching everyone.
	filter := strings.ReplaceAll(u.cfg.UserFilter, "{username}", ldap.EscapeFilter(username))
	attrs := []string{u.attr("subject"), u.attr("username"), u.attr("email"), u.attr("name")}
	sr, err := conn.Search(ldap.NewSearchRequest(u.cfg.UserSearchBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, int(u.o.Timeout.Seconds()), false, filter, attrs, nil))
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return Identity{}, fmt.Errorf("%w: ldap search %s: %v", ErrUnavailable, filter, err)
	}
	if sr == nil || len(sr.Entries) != 1 {
		// None, or more than one: an ambiguous filter must not pick one.
		return Identity{}, ErrInvalidCredentials
	}
	e := sr.Entries[0]
	if err := conn.Bind(e.DN, password); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			return Identity{}, ErrInvalidCredentials
		}
		return Identity{}, fmt.Errorf("%w: ldap bind as the user: %v", ErrUnavailable, err)
	}
	id := Identity{
		Subject:  u.subject(e),
		Username: e.GetAttributeValue(u.attr("username")),
		Email:    e.GetAttributeValue(u.attr("email")),
		Name:     e.GetAttributeValue(u.attr("name")),
		// The directory is the organisation's own record: its mail
		// attribute counts as verified (as Dex does).
		EmailVerified: e.GetAttributeValue(u.attr("email")) != "",
	}
	if id.Username == "" {
		id.Username = username
	}
	if u.cfg.GroupFilter != "" {
		// Back to the service account for the group search: the user's
		// own rights may not cover the group tree.
		if u.cfg.BindDN != "" {
			if err := conn.Bind(u.cfg.BindDN, u.cfg.BindPassword); err != nil {
				return Identity{}, fmt.Errorf("%w: ldap service re-bind: %v", ErrUnavailable, err)
			}
		}
		gf := strings.ReplaceAll(u.cfg.GroupFilter, "{dn}", ldap.EscapeFilter(e.DN))
		gf = strings.ReplaceAll(gf, "{username}", ldap.EscapeFilter(username))
		gr, err := conn.Search(ldap.NewSearchRequest(u.cfg.GroupSearchBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
			maxGroups, int(u.o.Timeout.Seconds()), false, gf, []string{u.attr("groups")}, nil))
		if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
			return Identity{}, fmt.Errorf("%w: ldap group search %s: %v", ErrUnavailable, gf, err)
		}
		if gr != nil {
			for _, g := range gr.Entries {
				id.Groups = append(id.Groups, g.GetAttributeValue(u.attr("groups")))
			}
		}
	}
	return id.bounded()
}

// subject is the entry's stable id: the configured attribute (entryUUID
// by default; AD's binary objectGUID is hex-encoded), else its DN.
func (u *ldapUpstream) subject(e *ldap.Entry) string {
	name := u.attr("subject")
	if strings.EqualFold(name, "objectGUID") {
		if b := e.GetRawAttributeValue(name); len(b) > 0 {
			return hex.EncodeToString(b)
		}
	}
	if v := e.GetAttributeValue(name); v != "" {
		return v
	}
	return e.DN
}

// Check connects and binds as the service account.
func (u *ldapUpstream) Check(ctx context.Context) []Probe {
	p := Probe{What: "directory", URL: u.url}
	conn, err := u.dial(ctx)
	if err != nil {
		p.Error = err.Error()
		return []Probe{p}
	}
	conn.Close()
	p.OK = true
	return []Probe{p}
}

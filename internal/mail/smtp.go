package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/sesameauth/sesame/storage"
)

// SMTPConfig configures the SMTP sender.
type SMTPConfig struct {
	// URL is smtp://[user[:pass]@]host[:port] (STARTTLS required, port 587
	// by default) or smtps://… (implicit TLS, port 465 by default).
	URL string
	// Password, if set, replaces the URL's password
	// (SESAME_SMTP_PASSWORD_FILE).
	Password string
	// From is the envelope and header sender (SESAME_MAIL_FROM).
	From string
	// TLS, if set, is used for the connection (tests pin a CA); ServerName
	// defaults to the URL's host.
	TLS *tls.Config
	// Timeout bounds one delivery (default 30s).
	Timeout time.Duration
}

// SMTP sends messages through one SMTP server with go-mail.
type SMTP struct {
	host string
	from string
	opts []gomail.Option
}

// ParseSMTPURL checks an SMTP URL and returns host, port and whether TLS
// is implicit; the error names what is wrong and never echoes a password.
func ParseSMTPURL(raw string) (host string, port int, implicitTLS bool, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", 0, false, errors.New("not a URL (want smtp://user:pass@host:587 or smtps://host:465)")
	}
	switch u.Scheme {
	case "smtp":
		port = 587
	case "smtps":
		port, implicitTLS = 465, true
	default:
		return "", 0, false, fmt.Errorf("scheme %q: want smtp (STARTTLS) or smtps (implicit TLS)", u.Scheme)
	}
	host = u.Hostname()
	if host == "" {
		return "", 0, false, errors.New("no host")
	}
	if p := u.Port(); p != "" {
		port, err = strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return "", 0, false, fmt.Errorf("bad port %q", p)
		}
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", 0, false, errors.New("no path, query or fragment allowed")
	}
	return host, port, implicitTLS, nil
}

// NewSMTP checks cfg.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	host, port, implicit, err := ParseSMTPURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("mail: SESAME_SMTP_URL: %w", err)
	}
	if err := CheckAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("mail: SESAME_MAIL_FROM %q: %w", cfg.From, err)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLS != nil {
		tc = cfg.TLS.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	opts := []gomail.Option{gomail.WithPort(port), gomail.WithTimeout(timeout), gomail.WithTLSConfig(tc)}
	if implicit {
		opts = append(opts, gomail.WithSSL())
	} else {
		// STARTTLS is mandatory: a server (or a man in the middle) that
		// does not offer it gets no mail, rather than a plain-text copy of
		// a password-reset link.
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	u, _ := url.Parse(cfg.URL)
	if u.User != nil && u.User.Username() != "" {
		pass, _ := u.User.Password()
		if cfg.Password != "" {
			pass = cfg.Password
		}
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	return &SMTP{host: host, from: cfg.From, opts: opts}, nil
}

// Send delivers one message as multipart/alternative (plain text, then
// HTML when present). The queue id becomes the Message-ID, so a
// redelivery after a lost acknowledgement is recognisable downstream.
func (s *SMTP) Send(ctx context.Context, m storage.Mail) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return fmt.Errorf("mail: from: %w", err)
	}
	if err := msg.To(m.Recipient); err != nil {
		return fmt.Errorf("mail: to: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.ID + "@" + s.host)
	msg.SetDate()
	msg.SetBodyString(gomail.TypeTextPlain, m.TextBody)
	if m.HTMLBody != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTMLBody)
	}
	c, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("mail: client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("mail: send to %s: %w", s.host, err)
	}
	return nil
}

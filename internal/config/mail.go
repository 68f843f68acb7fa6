package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// Signup modes (SESAME_SIGNUP).
const (
	SignupOff    = "off"
	SignupOpen   = "open"
	SignupInvite = "invite"
)

// How outgoing mail leaves the server (Config.MailDelivery).
const (
	// MailSMTP: a worker sends the queue through SESAME_SMTP_URL.
	MailSMTP = "smtp"
	// MailStore: no SMTP server and a loopback issuer (the demo): mail
	// is kept in the store and `sesame mail list` shows it.
	MailStore = "store"
	// MailOff: no SMTP server on a public issuer: pages that need mail
	// say it is not configured, and nothing is queued.
	MailOff = "off"
)

// The defaults of SESAME_EMAIL_LINK_LIFETIME.
const (
	DefaultResetLinkLifetime  = time.Hour
	DefaultVerifyLinkLifetime = 24 * time.Hour
	DefaultInviteLinkLifetime = 24 * time.Hour
)

// linkLifetimes parses SESAME_EMAIL_LINK_LIFETIME: either one duration
// for every link ("2h") or purpose=duration pairs ("reset=30m,verify=48h");
// a purpose not named keeps its default.
func linkLifetimes(c *Config, raw string) error {
	c.ResetLinkLifetime, c.VerifyLinkLifetime, c.InviteLinkLifetime = DefaultResetLinkLifetime, DefaultVerifyLinkLifetime, DefaultInviteLinkLifetime
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil
	}
	if !strings.Contains(raw, "=") {
		d, err := time.ParseDuration(raw)
		if err != nil || d <= 0 {
			return errors.New("want a positive duration (e.g. 2h) or purpose=duration pairs (reset=1h,verify=24h,invite=24h)")
		}
		c.ResetLinkLifetime, c.VerifyLinkLifetime, c.InviteLinkLifetime = d, d, d
		return nil
	}
	seen := map[string]bool{}
	for _, pair := range strings.Split(raw, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		k = strings.TrimSpace(k)
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if !ok || err != nil || d <= 0 {
			return fmt.Errorf("%q: want purpose=positive duration (reset=1h)", pair)
		}
		if seen[k] {
			return fmt.Errorf("%s given twice", k)
		}
		seen[k] = true
		switch k {
		case "reset":
			c.ResetLinkLifetime = d
		case "verify":
			c.VerifyLinkLifetime = d
		case "invite":
			c.InviteLinkLifetime = d
		default:
			return fmt.Errorf("unknown purpose %q (want reset, verify or invite)", k)
		}
	}
	return nil
}

// MailDelivery says how mail leaves this server: MailSMTP, MailStore or
// MailOff (see the constants).
func (c Config) MailDelivery() string {
	if c.SMTPURL != "" {
		return MailSMTP
	}
	if u, err := url.Parse(c.Issuer); err == nil && IsLoopbackHost(u.Hostname()) {
		return MailStore
	}
	return MailOff
}

// MailSender is the From address: SESAME_MAIL_FROM, else sesame@ the
// issuer's host (only used when mail stays in the store).
func (c Config) MailSender() string {
	if c.MailFrom != "" {
		return c.MailFrom
	}
	host := "localhost"
	if u, err := url.Parse(c.Issuer); err == nil && u.Hostname() != "" && !strings.Contains(u.Hostname(), ":") {
		host = u.Hostname()
	}
	return "sesame@" + host
}

// SMTPPassword reads SESAME_SMTP_PASSWORD_FILE ("" when unset): its first
// line, without the line end.
func (c Config) SMTPPassword() (string, error) {
	if c.SMTPPasswordFile == "" {
		return "", nil
	}
	b, err := os.ReadFile(c.SMTPPasswordFile)
	if err != nil {
		return "", fmt.Errorf("invalid SESAME_SMTP_PASSWORD_FILE: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", fmt.Errorf("invalid SESAME_SMTP_PASSWORD_FILE %q: empty", c.SMTPPasswordFile)
	}
	return line, nil
}

// validateMail checks the account and mail settings. The SMTP URL is
// secret (it may carry a password): errors never echo it.
func (c *Config) validateMail() error {
	switch c.Signup {
	case SignupOff, SignupOpen, SignupInvite:
	default:
		return fmt.Errorf("invalid SESAME_SIGNUP %q: must be off, open or invite", c.Signup)
	}
	if c.SMTPURL != "" {
		u, err := url.Parse(c.SMTPURL)
		switch {
		case err != nil:
			return errors.New("invalid SESAME_SMTP_URL: not a URL (want smtp://user:pass@host:587 or smtps://host:465)")
		case u.Scheme != "smtp" && u.Scheme != "smtps":
			return fmt.Errorf("invalid SESAME_SMTP_URL: scheme %q: want smtp (STARTTLS) or smtps (implicit TLS)", u.Scheme)
		case u.Hostname() == "":
			return errors.New("invalid SESAME_SMTP_URL: no host")
		case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
			return errors.New("invalid SESAME_SMTP_URL: no path, query or fragment allowed")
		}
		if c.MailFrom == "" {
			return errors.New("invalid SESAME_MAIL_FROM: required with SESAME_SMTP_URL (the sender address of outgoing mail)")
		}
	} else if c.SMTPPasswordFile != "" {
		return errors.New("invalid SESAME_SMTP_PASSWORD_FILE: only with SESAME_SMTP_URL")
	}
	if c.MailFrom != "" && (strings.ContainsAny(c.MailFrom, "\r\n<>,; \t\"") || !strings.Contains(c.MailFrom, "@")) {
		return fmt.Errorf("invalid SESAME_MAIL_FROM %q: must be one bare address like sesame@example.com", c.MailFrom)
	}
	if c.SMTPPasswordFile != "" {
		if _, err := c.SMTPPassword(); err != nil {
			return err
		}
	}
	return nil
}

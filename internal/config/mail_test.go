package config

import (
	"strings"
	"testing"
	"time"
)

func TestEmailLinkLifetime(t *testing.T) {
	for _, tc := range []struct {
		name, raw             string
		reset, verify, invite time.Duration
		wantErr               string
	}{
		{name: "default", raw: "", reset: time.Hour, verify: 24 * time.Hour, invite: 24 * time.Hour},
		{name: "one for all", raw: "2h", reset: 2 * time.Hour, verify: 2 * time.Hour, invite: 2 * time.Hour},
		{name: "pairs, others keep defaults", raw: "reset=30m, invite=72h", reset: 30 * time.Minute, verify: 24 * time.Hour, invite: 72 * time.Hour},
		{name: "unknown purpose", raw: "login=1h", wantErr: "unknown purpose"},
		{name: "zero", raw: "0s", wantErr: "positive"},
		{name: "negative pair", raw: "reset=-1h", wantErr: "positive"},
		{name: "twice", raw: "reset=1h,reset=2h", wantErr: "twice"},
		{name: "garbage", raw: "soon", wantErr: "positive duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			if tc.raw != "" {
				env["SESAME_EMAIL_LINK_LIFETIME"] = tc.raw
			}
			c, err := Load(Sources{LookupEnv: envOf(env)})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), "SESAME_EMAIL_LINK_LIFETIME") || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one naming the setting and %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.ResetLinkLifetime != tc.reset || c.VerifyLinkLifetime != tc.verify || c.InviteLinkLifetime != tc.invite {
				t.Fatalf("reset %s verify %s invite %s", c.ResetLinkLifetime, c.VerifyLinkLifetime, c.InviteLinkLifetime)
			}
		})
	}
}

func TestMailSettings(t *testing.T) {
	pwFile := writeFile(t, "pw", "s3cret\nignored\n")
	for _, tc := range []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{name: "defaults", env: map[string]string{}},
		{name: "signup open", env: map[string]string{"SESAME_SIGNUP": "open"}},
		{name: "signup bad", env: map[string]string{"SESAME_SIGNUP": "yes"}, wantErr: "invalid SESAME_SIGNUP"},
		{name: "smtp with from", env: map[string]string{"SESAME_SMTP_URL": "smtp://u:p@mail.example.com:587", "SESAME_MAIL_FROM": "auth@example.com"}},
		{name: "smtps and password file", env: map[string]string{"SESAME_SMTP_URL": "smtps://u@mail.example.com", "SESAME_MAIL_FROM": "auth@example.com", "SESAME_SMTP_PASSWORD_FILE": pwFile}},
		{name: "smtp without from", env: map[string]string{"SESAME_SMTP_URL": "smtp://mail.example.com"}, wantErr: "invalid SESAME_MAIL_FROM"},
		{name: "plain scheme refused", env: map[string]string{"SESAME_SMTP_URL": "http://u:hunter2@mail.example.com", "SESAME_MAIL_FROM": "a@example.com"}, wantErr: "invalid SESAME_SMTP_URL"},
		{name: "no host", env: map[string]string{"SESAME_SMTP_URL": "smtp://", "SESAME_MAIL_FROM": "a@example.com"}, wantErr: "no host"},
		{name: "from with header injection", env: map[string]string{"SESAME_MAIL_FROM": "a@example.com\r\nBcc: x@evil.test"}, wantErr: "invalid SESAME_MAIL_FROM"},
		{name: "password file without smtp", env: map[string]string{"SESAME_SMTP_PASSWORD_FILE": pwFile}, wantErr: "only with SESAME_SMTP_URL"},
		{name: "missing password file", env: map[string]string{"SESAME_SMTP_URL": "smtp://u@mail.example.com", "SESAME_MAIL_FROM": "a@example.com", "SESAME_SMTP_PASSWORD_FILE": "/nonexistent/pw"}, wantErr: "invalid SESAME_SMTP_PASSWORD_FILE"},
		{name: "bad verified flag", env: map[string]string{"SESAME_REQUIRE_VERIFIED_EMAIL": "maybe"}, wantErr: "invalid SESAME_REQUIRE_VERIFIED_EMAIL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(Sources{LookupEnv: envOf(tc.env)})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.SMTPPasswordFile != "" {
					if pw, err := c.SMTPPassword(); err != nil || pw != "s3cret" {
						t.Fatalf("password %q %v, want the file's first line", pw, err)
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error echoes the SMTP password: %v", err)
			}
		})
	}
	c := Default()
	if c.Signup != SignupOff || c.RequireVerifiedEmail || c.MailSender() != "sesame@localhost" {
		t.Fatalf("defaults: signup %q verified %v from %q", c.Signup, c.RequireVerifiedEmail, c.MailSender())
	}
}

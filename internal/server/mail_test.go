package server

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/config"
	"github.com/sesameauth/sesame/internal/mail"
	"github.com/sesameauth/sesame/internal/mail/mailtest"
)

// The server starts the mail worker when SESAME_SMTP_URL is set: a queued
// message reaches a real SMTP server (with the password from
// SESAME_SMTP_PASSWORD_FILE), and the worker stops with the server.
func TestServeStartsMailWorker(t *testing.T) {
	smtpd := mailtest.Start(t, false)
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.SMTPURL = strings.Replace(smtpd.URL(), "smtp://", "smtp://sesame@", 1)
	cfg.MailFrom = "sesame@example.test"
	cfg.SMTPPasswordFile = filepath.Join(dir, "smtp-password")
	if err := os.WriteFile(cfg.SMTPPasswordFile, []byte("from-the-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	s, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(logs, nil)), WithOutput(&bytes.Buffer{}),
		WithSMTPTLS(smtpd.ClientTLS()), WithMailInterval(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	m, err := mail.Compose(mail.Message{To: "alice@example.com", Subject: "Hello", Text: "Hi"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Store.EnqueueMail(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	got := smtpd.Wait(1, 10*time.Second)
	if len(got) != 1 || got[0].To[0] != "alice@example.com" || !bytes.Contains(got[0].Data, []byte("Subject: Hello")) {
		t.Fatalf("delivered %+v", got)
	}
	if a := smtpd.Auths(); len(a) != 1 || a[0] != "sesame:from-the-file" {
		t.Fatalf("SMTP auth %v, want the password from SESAME_SMTP_PASSWORD_FILE", a)
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server with a mail worker did not stop")
	}
}

func TestMailDeliveryModes(t *testing.T) {
	cfg := config.Default()
	if got := cfg.MailDelivery(); got != config.MailStore {
		t.Errorf("loopback issuer without SMTP: %s, want store", got)
	}
	cfg.Issuer = "https://auth.example.com"
	if got := cfg.MailDelivery(); got != config.MailOff {
		t.Errorf("public issuer without SMTP: %s, want off", got)
	}
	cfg.SMTPURL = "smtps://mail.example.com"
	if got := cfg.MailDelivery(); got != config.MailSMTP {
		t.Errorf("with SMTP: %s, want smtp", got)
	}
}

package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/app"
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
	_, stop, done := serveOn(t, s)
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

// Mail a use case enqueues wakes the worker once its transaction commits:
// with a poll interval of an hour, the reset mail and the sign-up mail
// still arrive within seconds (before: at the next poll, up to 5 s by
// default — the user waiting on the "check your email" page).
func TestQueuedMailWakesTheWorker(t *testing.T) {
	smtpd := mailtest.Start(t, false)
	cfg := testConfig(t, t.TempDir())
	cfg.SMTPURL = smtpd.URL()
	cfg.MailFrom = "sesame@example.test"
	cfg.Signup = app.SignupOpen
	cfg.Argon2MemoryKiB, cfg.Argon2Iterations = 7168, 5
	s, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), WithOutput(&bytes.Buffer{}),
		WithSMTPTLS(smtpd.ClientTLS()), WithMailInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ctx, _ := serveOnLoopback(t, s)
	time.Sleep(200 * time.Millisecond) // the worker's first pass (empty queue) is behind it

	if _, err := s.App.SignUp(ctx, app.SignUp{Username: "bob", Email: "bob@example.com", Password: "purple monkey dishwasher", IP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	if got := smtpd.Wait(1, 5*time.Second); !bytes.Contains(got[0].Data, []byte("Confirm your email address")) {
		t.Fatalf("first mail: %s", got[0].Data)
	}
	if err := s.App.ForgotPassword(ctx, app.ForgotRequest{Identifier: "bob", IP: "192.0.2.1", ResetURL: s.Config.Issuer + app.PathResetPassword}); err != nil {
		t.Fatal(err)
	}
	if got := smtpd.Wait(2, 5*time.Second); !bytes.Contains(got[1].Data, []byte("Reset your password")) {
		t.Fatalf("second mail: %s", got[1].Data)
	}
}

// serveOn serves s on a fresh loopback listener until stop is called;
// done receives Serve's result.
func serveOn(t *testing.T, s *Server) (ctx context.Context, stop context.CancelFunc, done <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop = context.WithCancel(context.Background())
	ch := make(chan error, 1)
	go func() { ch <- s.Serve(ctx, ln) }()
	return ctx, stop, ch
}

// serveOnLoopback is serveOn, stopped when the test ends.
func serveOnLoopback(t *testing.T, s *Server) (context.Context, context.CancelFunc) {
	t.Helper()
	ctx, stop, done := serveOn(t, s)
	t.Cleanup(func() { stop(); <-done })
	return ctx, stop
}

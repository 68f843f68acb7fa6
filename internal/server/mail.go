package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"sync"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/config"
	"github.com/sesameauth/sesame/internal/mail"
)

// WithSMTPTLS sets the TLS configuration of the SMTP connection (tests
// that trust their own SMTP server's certificate).
func WithSMTPTLS(tc *tls.Config) Option { return func(s *Server) { s.smtpTLS = tc } }

// buildMail builds the outgoing-mail worker when SESAME_SMTP_URL is set.
// Without it there is no worker: with a loopback issuer (the demo) mail
// stays in the store for `sesame mail list`; otherwise nothing is queued
// and the pages that need mail say it is not configured.
func (s *Server) buildMail() (*mail.Worker, error) {
	cfg := s.Config
	switch cfg.MailDelivery() {
	case config.MailStore:
		s.Logger.Info("no SMTP server (SESAME_SMTP_URL): outgoing mail stays in the store; read it with `sesame mail list`")
		return nil, nil
	case config.MailOff:
		if cfg.Signup != config.SignupOff || cfg.RequireVerifiedEmail {
			s.Logger.Warn("no SMTP server (SESAME_SMTP_URL): sign-up, email verification and password reset pages say mail is not configured")
		}
		return nil, nil
	}
	pass, err := cfg.SMTPPassword()
	if err != nil {
		return nil, err
	}
	sender, err := mail.NewSMTP(mail.SMTPConfig{URL: cfg.SMTPURL, Password: pass, From: cfg.MailFrom, TLS: s.smtpTLS})
	if err != nil {
		return nil, err
	}
	opts := mail.WorkerOptions{Now: s.now, Logger: s.Logger}
	if s.ops != nil && s.ops.metrics != nil {
		opts.OnResult = s.ops.metrics.MailResult
	}
	if s.mailInterval > 0 {
		opts.Interval = s.mailInterval
	}
	w, err := mail.NewWorker(s.Store, sender, opts)
	if err != nil {
		return nil, fmt.Errorf("mail worker: %w", err)
	}
	return w, nil
}

// runMail runs the mail worker (if any) until ctx ends; a delivery in
// flight is bounded by the worker's lease, and a message whose sending
// was cut short is retried by the next start (never lost).
func (s *Server) runMail(ctx context.Context, wg *sync.WaitGroup) {
	if s.mailWorker == nil {
		return
	}
	wg.Go(func() { s.mailWorker.Run(ctx) })
}

// mailQueued is told after a transaction that enqueued mail commits: the
// worker polls at once instead of at its next tick.
func (s *Server) mailQueued() {
	if s.mailWorker != nil {
		s.mailWorker.Wake()
	}
}

// AccountSettings are the self-service account settings of the use cases
// (sign-up mode, link lifetimes, the issuer links are absolute to, and
// whether mail can be delivered), the same for the server and the CLI.
func AccountSettings(cfg config.Config) app.AccountSettings {
	return app.AccountSettings{
		Issuer: cfg.Issuer, Signup: cfg.Signup,
		VerifyLifetime: cfg.VerifyLinkLifetime, InviteLifetime: cfg.InviteLinkLifetime, ResetLifetime: cfg.ResetLinkLifetime,
		MailOff: cfg.MailDelivery() == config.MailOff,
	}
}

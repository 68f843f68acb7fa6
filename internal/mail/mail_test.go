package mail_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/mail"
	"github.com/sesameauth/sesame/internal/mail/mailtest"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
	"github.com/sesameauth/sesame/storage/sqlite"
)

var quiet = slog.New(slog.DiscardHandler)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func forEachStore(t *testing.T, fn func(t *testing.T, st storage.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "sesame.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		if _, err := st.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		fn(t, st)
	})
	t.Run("postgres", func(t *testing.T) { fn(t, pgtest.Open(t)) })
}

func sender(t *testing.T, srv *mailtest.Server) *mail.SMTP {
	t.Helper()
	s, err := mail.NewSMTP(mail.SMTPConfig{URL: srv.URL(), From: "sesame@example.test", TLS: srv.ClientTLS(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func compose(t *testing.T, to string, now time.Time) storage.Mail {
	t.Helper()
	m, err := mail.Compose(mail.Message{
		To: to, Subject: "Verify your email",
		Text:  "Open https://issuer.test/verify-email?token=abc",
		HTML:  `<p><a href="https://issuer.test/verify-email?token=abc">Verify</a></p>`,
		Links: []string{"https://issuer.test/verify-email?token=abc"},
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// parts returns the content types and bodies of a multipart/alternative message.

func TestSMTPDeliversTextAndHTML(t *testing.T) {
	for _, implicit := range []bool{false, true} {
		t.Run(map[bool]string{false: "smtp STARTTLS", true: "smtps implicit TLS"}[implicit], func(t *testing.T) {
			srv := mailtest.Start(t, implicit)
			m := compose(t, "alice@example.test", t0)
			if err := sender(t, srv).Send(t.Context(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := srv.Wait(1, 5*time.Second)
			if got[0].From != "sesame@example.test" || len(got[0].To) != 1 || got[0].To[0] != "alice@example.test" {
				t.Errorf("envelope from %q to %v", got[0].From, got[0].To)
			}
			msg, ps := mailtest.Parts(t, got[0].Data)
			if s := msg.Header.Get("Subject"); s != "Verify your email" {
				t.Errorf("Subject = %q", s)
			}
			if id := msg.Header.Get("Message-Id"); !strings.Contains(id, m.ID) {
				t.Errorf("Message-Id %q does not carry the queue id %s", id, m.ID)
			}
			if !strings.Contains(ps["text/plain"], "https://issuer.test/verify-email?token=abc") {
				t.Errorf("text part = %q", ps["text/plain"])
			}
			if !strings.Contains(ps["text/html"], `href="https://issuer.test/verify-email?token=abc"`) {
				t.Errorf("html part = %q", ps["text/html"])
			}
		})
	}
}

func TestSMTPRefusesUntrustedCertificate(t *testing.T) {
	srv := mailtest.Start(t, false)
	s, err := mail.NewSMTP(mail.SMTPConfig{URL: srv.URL(), From: "sesame@example.test", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(t.Context(), compose(t, "alice@example.test", t0)); err == nil {
		t.Fatal("Send to a server with an untrusted certificate succeeded")
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages delivered over an unverified TLS connection", n)
	}
}

func TestComposeRefusesHeaderInjection(t *testing.T) {
	for name, m := range map[string]mail.Message{
		"CRLF in recipient":    {To: "a@example.test\r\nBcc: victim@example.test", Subject: "s", Text: "t"},
		"LF in recipient":      {To: "a@example.test\nx", Subject: "s", Text: "t"},
		"two recipients":       {To: "a@example.test, b@example.test", Subject: "s", Text: "t"},
		"display name":         {To: "Eve <a@example.test>", Subject: "s", Text: "t"},
		"CRLF in subject":      {To: "a@example.test", Subject: "hi\r\nBcc: victim@example.test", Text: "t"},
		"empty body":           {To: "a@example.test", Subject: "s"},
		"overlong recipient":   {To: strings.Repeat("a", 250) + "@example.test", Subject: "s", Text: "t"},
		"no domain dot":        {To: "a@example", Subject: "s", Text: "t"},
		"control char in addr": {To: "a\x01@example.test", Subject: "s", Text: "t"},
	} {
		if _, err := mail.Compose(m, t0); err == nil {
			t.Errorf("%s: Compose accepted %q / %q", name, m.To, m.Subject)
		}
	}
	if _, err := mail.Compose(mail.Message{To: "a.b+c@example.test", Subject: "s", Text: "t"}, t0); err != nil {
		t.Errorf("a plain address was refused: %v", err)
	}
}

func TestParseSMTPURL(t *testing.T) {
	for raw, want := range map[string]string{
		"smtp://u:p@mail.example.test":        "mail.example.test 587 false",
		"smtp://mail.example.test:2525":       "mail.example.test 2525 false",
		"smtps://u:p@mail.example.test":       "mail.example.test 465 true",
		"smtps://mail.example.test:10465/":    "mail.example.test 10465 true",
		"http://mail.example.test":            "error",
		"smtp://":                             "error",
		"smtp://mail.example.test:99999":      "error",
		"smtp://mail.example.test/x?y=1":      "error",
		"smtp://u:secret@mail.example.test:x": "error",
	} {
		host, port, implicit, err := mail.ParseSMTPURL(raw)
		got := fmt.Sprintf("%s %d %v", host, port, implicit)
		if err != nil {
			got = "error"
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("%s: error echoes the password: %v", raw, err)
			}
		}
		if got != want {
			t.Errorf("ParseSMTPURL(%q) = %s, want %s", raw, got, want)
		}
	}
}

// TestOutageThenRecovery: SMTP is down when the mail is queued; the worker
// retries with backoff and the mail arrives exactly once after SMTP is back.
func TestOutageThenRecovery(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		srv := mailtest.Start(t, false)
		srv.Stop()
		clk := &clock{now: t0}
		var outcomes []bool
		w, err := mail.NewWorker(st, sender(t, srv), mail.WorkerOptions{Logger: quiet, Now: clk.Now, MinBackoff: time.Minute,
			OnResult: func(sent bool) { outcomes = append(outcomes, sent) }})
		if err != nil {
			t.Fatal(err)
		}
		m := compose(t, "bob@example.test", clk.Now())
		if err := st.EnqueueMail(t.Context(), m); err != nil {
			t.Fatal(err)
		}
		for i, wantNext := range []time.Duration{time.Minute, 2 * time.Minute} {
			sent, failed, err := w.RunOnce(t.Context())
			if err != nil || sent != 0 || failed != 1 {
				t.Fatalf("pass %d while SMTP is down: sent %d failed %d err %v", i+1, sent, failed, err)
			}
			got, _ := st.GetMail(t.Context(), m.ID)
			if got.Attempts != i+1 || !got.NextAttemptAt.Equal(clk.Now().Add(wantNext)) || got.LastError == "" {
				t.Fatalf("after failure %d: attempts %d next %s (want +%s) last error %q", i+1, got.Attempts, got.NextAttemptAt, wantNext, got.LastError)
			}
			// Not due yet: nothing is claimed.
			if sent, failed, _ := w.RunOnce(t.Context()); sent+failed != 0 {
				t.Fatalf("a pass before the backoff ended tried %d", sent+failed)
			}
			clk.Add(wantNext)
		}
		srv.Start()
		sent, failed, err := w.RunOnce(t.Context())
		if err != nil || sent != 1 || failed != 0 {
			t.Fatalf("pass after SMTP returned: sent %d failed %d err %v", sent, failed, err)
		}
		clk.Add(time.Hour)
		if sent, failed, _ := w.RunOnce(t.Context()); sent+failed != 0 {
			t.Fatalf("a sent message was tried again (%d)", sent+failed)
		}
		if got := srv.Wait(1, 5*time.Second); len(got) != 1 {
			t.Fatalf("received %d messages, want exactly 1", len(got))
		}
		if fmt.Sprint(outcomes) != "[false false true]" {
			t.Errorf("OnResult saw %v, want [false false true]", outcomes)
		}
		n, err := st.CountUnsentMail(t.Context())
		if err != nil || n != 0 {
			t.Errorf("CountUnsentMail = %d, %v", n, err)
		}
		// Each outcome is audited (recipient and attempt, never the body).
		ev, _, err := st.ListAudit(t.Context(), storage.AuditFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var trail []string
		for i := len(ev) - 1; i >= 0; i-- {
			e := ev[i]
			if e.Details["mail_id"] != m.ID || e.Details["recipient"] != "bob@example.test" {
				t.Errorf("audit %s details %v", e.Type, e.Details)
			}
			trail = append(trail, e.Type+"/"+e.Outcome+"/"+e.Details["attempt"])
		}
		if fmt.Sprint(trail) != "[mail.failed/failure/1 mail.failed/failure/2 mail.sent/success/3]" {
			t.Errorf("audit trail %v", trail)
		}
	})
}

// TestTwoInstancesSendEachMailOnce: two stores (two pools, as two server
// instances) on one Postgres database, each with a worker polling at once.
func TestTwoInstancesSendEachMailOnce(t *testing.T) {
	a := pgtest.Open(t)
	b := pgtest.Reopen(t, a)
	srv := mailtest.Start(t, false)
	const n = 30
	for i := range n {
		if err := a.EnqueueMail(t.Context(), compose(t, fmt.Sprintf("u%d@example.test", i), t0)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, st := range []storage.Store{a, b, a, b} {
		w, err := mail.NewWorker(st, sender(t, srv), mail.WorkerOptions{Logger: quiet, Batch: 3, Now: func() time.Time { return t0 }})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				sent, failed, err := w.RunOnce(ctx)
				if err != nil || failed > 0 {
					t.Errorf("worker pass: failed %d err %v", failed, err)
					return
				}
				if sent == 0 {
					if left, _ := st.CountUnsentMail(ctx); left == 0 {
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	got := srv.Wait(n, 10*time.Second)
	time.Sleep(100 * time.Millisecond) // a duplicate would arrive now
	got = srv.Messages()
	seen := map[string]int{}
	for _, m := range got {
		seen[m.To[0]]++
	}
	if len(got) != n || len(seen) != n {
		t.Errorf("received %d messages for %d recipients, want %d each once: %v", len(got), len(seen), n, seen)
	}
}

package app

import (
	"context"
	"fmt"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// MailView is one message of the outgoing-mail queue, as `sesame mail
// list --json` prints it. Status is queued (not tried yet, or kept in the
// store when no SMTP server is configured), retrying (a delivery failed)
// or sent.
type MailView struct {
	ID        string     `json:"id"`
	Recipient string     `json:"recipient"`
	Subject   string     `json:"subject"`
	Status    string     `json:"status"`
	Links     []string   `json:"links"`
	CreatedAt time.Time  `json:"created_at"`
	SentAt    *time.Time `json:"sent_at,omitempty"`
	Attempts  int        `json:"attempts"`
	LastError string     `json:"last_error,omitempty"`
}

// Mail statuses of MailView.
const (
	MailQueued   = "queued"
	MailRetrying = "retrying"
	MailSent     = "sent"
)

// NewMailView converts a queued message.
func NewMailView(m storage.Mail) MailView {
	st := MailQueued
	switch {
	case m.SentAt != nil:
		st = MailSent
	case m.Attempts > 0:
		st = MailRetrying
	}
	return MailView{ID: m.ID, Recipient: m.Recipient, Subject: m.Subject, Status: st, Links: nonNil(m.Links),
		CreatedAt: m.CreatedAt, SentAt: m.SentAt, Attempts: m.Attempts, LastError: m.LastError}
}

// ListMail lists the newest messages of the queue (sent ones too, until
// the janitor's retention removes them).
func (s *Service) ListMail(ctx context.Context, limit int) ([]MailView, error) {
	ms, err := s.store.ListMail(ctx, storage.ListOptions{Limit: limit}.EffectiveLimit())
	if err != nil {
		return nil, fmt.Errorf("list mail: %w", err)
	}
	out := make([]MailView, 0, len(ms))
	for _, m := range ms {
		out = append(out, NewMailView(m))
	}
	return out, nil
}

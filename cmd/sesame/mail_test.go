package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/mail"
	"github.com/sesameauth/sesame/storage/dial"
)

type mailJSON struct {
	ID        string   `json:"id"`
	Recipient string   `json:"recipient"`
	Subject   string   `json:"subject"`
	Status    string   `json:"status"`
	Links     []string `json:"links"`
}

// enqueue puts a message in the store's queue, as a use case would.
func enqueue(t *testing.T, databaseURL string, m mail.Message, sent bool) {
	t.Helper()
	ctx := context.Background()
	st, mig, err := dial.Open(ctx, databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := mig.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	rec, err := mail.Compose(m, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.EnqueueMail(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if sent {
		now := time.Now()
		if _, err := st.ClaimMail(ctx, "w", now, now.Add(time.Minute), 10); err != nil {
			t.Fatal(err)
		}
		if err := st.MarkMailSent(ctx, rec.ID, "w", now); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMailList(t *testing.T) {
	backends(t, func(t *testing.T, c *cli) {
		var db string
		for _, kv := range c.env {
			if v, ok := strings.CutPrefix(kv, "SESAME_DATABASE_URL="); ok {
				db = v
			}
		}
		var empty list[mailJSON]
		c.json(&empty, "", "mail", "list", "--json")
		if empty.Items == nil || len(empty.Items) != 0 {
			t.Fatalf("empty queue: %+v (items must be [] not null)", empty)
		}
		link := "http://localhost:8080/verify-email?token=abc"
		enqueue(t, db, mail.Message{To: "old@example.com", Subject: "Sent one", Text: "x"}, true)
		time.Sleep(10 * time.Millisecond)
		enqueue(t, db, mail.Message{To: "alice@example.com", Subject: "Verify your email address", Text: "Open " + link, Links: []string{link}}, false)
		var l list[mailJSON]
		c.json(&l, "", "mail", "list", "--json")
		if len(l.Items) != 2 {
			t.Fatalf("mail list: %+v", l)
		}
		first, second := l.Items[0], l.Items[1]
		if first.Recipient != "alice@example.com" || first.Subject != "Verify your email address" || first.Status != "queued" ||
			len(first.Links) != 1 || first.Links[0] != link || first.ID == "" {
			t.Fatalf("newest first, with links: %+v", first)
		}
		if second.Status != "sent" || second.Links == nil {
			t.Fatalf("sent message: %+v", second)
		}
		out := c.ok("", "mail", "list")
		if !strings.Contains(out, "RECIPIENT") || !strings.Contains(out, link) || !strings.Contains(out, "alice@example.com") {
			t.Fatalf("table:\n%s", out)
		}
	})
}

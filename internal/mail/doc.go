// Package mail is Sesame's outgoing mail (SPEC part two "Accounts"): a
// durable queue in the store and the worker that drains it through SMTP.
//
// Callers build a storage.Mail with Compose and enqueue it with
// storage.MailStore.EnqueueMail in the transaction of the event that
// causes it (a sign-up, a reset request), so a rolled-back event sends
// nothing and a committed one is never lost. A Worker claims due messages
// with a lease (Postgres: FOR UPDATE SKIP LOCKED; SQLite: its single
// writer), so across any number of instances one worker sends a message;
// a failed delivery is retried with exponential backoff for as long as the
// message is kept (the janitor deletes mail older than the retention).
//
// With no SMTP server configured (the demo), there is no worker: the mail
// stays in the store and `sesame mail list` shows it with its links.
//
// The package imports storage only (and go-mail for SMTP).
package mail
